import { heap, importInternal, nowNs } from './lib.mjs';
const { Roster } = await importInternal('roster');
const { ServerClock } = await importInternal('clock');
const N = Number(process.argv[2]);
const U = 100000;
const base = Date.now()+1000;
const users = Array.from({length:N},(_,i)=> (i*2654435761>>>0).toString(16).padStart(20,'0'));
let v=0;
const mk=(i,st)=>{const u=base+(++v);return {id:'r'+users[i],userId:users[i],status:st,metadata:{name:'P'+i},updatedAt:u,expiresAt:u+75000};};
for (let r=0;r<4;r++){
 v=0;
 const joins=users.map((_,i)=>mk(i,'online'));
 const ups=Array.from({length:U},()=>mk(Math.floor(Math.random()*N),['a','b','c'][Math.floor(Math.random()*3)]));
 const leaves=users.map((_,i)=>mk(i,'x')).sort(()=>Math.random()-0.5);
 const roster=new Roster({clock:new ServerClock(), onChange(){}});
 const m=new Map();
  let t=nowNs(); for(const d of joins) roster.upsert(d); const tj=Number(nowNs()-t)/N;
  t=nowNs(); for(const d of ups) roster.upsert(d); const tu=Number(nowNs()-t)/U;
  t=nowNs(); for(const d of leaves) roster.remove(d); const tl=Number(nowNs()-t)/N;
  t=nowNs(); for(const d of joins) m.set(d.userId,d); const mj=Number(nowNs()-t)/N;
  t=nowNs(); for(const d of ups) m.set(d.userId,d); const mu=Number(nowNs()-t)/U;
  t=nowNs(); for(const d of leaves) m.delete(d.userId); const ml=Number(nowNs()-t)/N;
 console.log(`N=${N} ours join ${tj|0} upd ${tu|0} leave ${tl|0} | map join ${mj|0} upd ${mu|0} leave ${ml|0}`);
 roster.clear();
}

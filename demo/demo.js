// The demo's own bit of Alpine: sign in as a guest (optionally with a name), then start presence;
// sign out the way an app without Manifest does (beforeSignOut, then delete the session).
// Everything about presence itself is `$presence`, from the plugin script.
async function demoAccount() {
  const manifest = await (await fetch('/manifest.json')).json();
  const client = new window.Appwrite.Client().setEndpoint(manifest.appwrite.endpoint).setProject(manifest.appwrite.projectId);
  return new window.Appwrite.Account(client);
}

document.addEventListener('alpine:init', () => {
  window.Alpine.data('demo', () => ({
    name: '',
    label: '',
    joined: false,
    busy: false,
    userId: null,
    async join() {
      this.busy = true;
      try {
        const account = await demoAccount();
        try {
          await account.get();
        } catch {
          await account.createAnonymousSession();
        }
        if (this.name.trim()) await account.updateName({ name: this.name.trim() });
        this.userId = (await account.get()).$id;
        this.joined = true;
        await this.$presence.start();
      } finally {
        this.busy = false;
      }
    },
    async signOut() {
      this.busy = true;
      try {
        // First presence (the session must still work to delete your row), then the session.
        await this.$presence.beforeSignOut();
        await (await demoAccount()).deleteSession({ sessionId: 'current' });
        this.joined = false;
        this.userId = null;
      } finally {
        this.busy = false;
      }
    },
  }));
});

// The demo's own bit of Alpine: sign in as a guest (optionally with a name), then start presence.
// Everything about presence itself is `$presence`, from the plugin script.
document.addEventListener('alpine:init', () => {
  window.Alpine.data('demo', () => ({
    name: '',
    label: '',
    joined: false,
    busy: false,
    async join() {
      this.busy = true;
      try {
        const manifest = await (await fetch('/manifest.json')).json();
        const client = new window.Appwrite.Client()
          .setEndpoint(manifest.appwrite.endpoint)
          .setProject(manifest.appwrite.projectId);
        const account = new window.Appwrite.Account(client);
        try {
          await account.get();
        } catch {
          await account.createAnonymousSession();
        }
        if (this.name.trim()) await account.updateName({ name: this.name.trim() });
        this.joined = true;
        await this.$presence.start();
      } finally {
        this.busy = false;
      }
    },
  }));
});

// The browser's time zone, for the server to show times in it (read from this cookie when a page renders).
(() => {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone && /^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) {
    const secure = location.protocol === "https:" ? "; Secure" : "";
    document.cookie = `EdgeGreen.TimeZone=${encodeURIComponent(zone)}; path=/; max-age=31536000; SameSite=Strict${secure}`;
  }
})();

// Called by the layout once the page's circuit is up (live from then on); tests wait for it.
window.edgeGreen = {
  interactive: () => { document.documentElement.dataset.interactive = "true"; },
};

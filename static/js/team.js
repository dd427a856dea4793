// The team page's list answers 204 when nothing changed since the last poll: htmx keeps
// the rows, and this moves the "Updated" time on so the viewer sees the poll happened.
document.addEventListener("htmx:afterRequest", (event) => {
  const region = event.detail.elt;
  if (!region || region.id !== "services-region" || event.detail.xhr.status !== 204) return;
  const stamp = document.getElementById("refreshed-at");
  if (!stamp) return;
  const now = new Date();
  let text;
  try {
    text = now.toLocaleTimeString("en-GB", { timeZone: region.dataset.zone, hour12: false });
  } catch {
    text = now.toLocaleTimeString("en-GB", { hour12: false });
  }
  stamp.textContent = text;
  stamp.setAttribute("datetime", now.toISOString());
});

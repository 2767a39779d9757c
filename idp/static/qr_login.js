// QR login on a PC: poll the request's state and show it; when the phone has confirmed, go on.
// Served from /static because the Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var figure = document.getElementById("qr");
  var status = document.getElementById("qr-status");
  var renew = document.getElementById("qr-renew");
  var texts = document.getElementById("qr-texts");
  if (!figure || !status) { return; }
  var stateUrl = figure.getAttribute("data-state-url");
  var interval = parseInt(figure.getAttribute("data-interval"), 10) || 2000;
  var final = { declined: true, expired: true, completed: true };

  function show(state) {
    var text = texts && texts.content.querySelector('[data-state="' + state + '"]');
    if (text) { status.textContent = text.textContent; }
    status.setAttribute("data-state", state);
    if (final[state]) {
      figure.classList.add("qr-dead");
      if (renew) { renew.hidden = false; }
    }
  }

  function poll() {
    fetch(stateUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 429) { return { state: null }; }
        if (!response.ok) { return { state: "expired" }; }
        return response.json();
      })
      .then(function (body) {
        if (body.state) { show(body.state); }
        if (body.state === "confirmed" && body.complete_url) {
          window.location.assign(body.complete_url);
          return;
        }
        if (!final[body.state]) { window.setTimeout(poll, interval); }
      })
      .catch(function () { window.setTimeout(poll, interval * 2); });
  }
  window.setTimeout(poll, interval);
})();

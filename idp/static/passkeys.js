/* Passkey ceremonies for Tongban pages: served by the IdP itself (CSP script-src 'self').
 * The server creates every challenge and checks every answer; this file only carries them
 * between the server and navigator.credentials. */
(function () {
  "use strict";

  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) { b64 += "="; }
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
      body: JSON.stringify(body || {})
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.error || "error"); }
        return data;
      });
    });
  }

  function showError(message) {
    var box = document.getElementById("passkey-error");
    if (box) { box.textContent = message; box.hidden = false; box.focus && box.focus(); }
  }

  function descriptors(list) {
    return (list || []).map(function (c) {
      return {type: c.type, id: toBytes(c.id), transports: c.transports};
    });
  }

  function assertionJSON(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        authenticatorData: toB64url(r.authenticatorData),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null
      }
    };
  }

  function attestationJSON(cred) {
    var r = cred.response;
    return {
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        clientDataJSON: toB64url(r.clientDataJSON),
        attestationObject: toB64url(r.attestationObject),
        transports: r.getTransports ? r.getTransports() : []
      }
    };
  }

  function signIn(button) {
    var mode = button.getAttribute("data-passkey");
    button.disabled = true;
    post(button.getAttribute("data-options-url"), {mode: mode}).then(function (options) {
      options.challenge = toBytes(options.challenge);
      options.allowCredentials = descriptors(options.allowCredentials);
      return navigator.credentials.get({publicKey: options});
    }).then(function (cred) {
      return post(button.getAttribute("data-verify-url"), {
        mode: mode, next: button.getAttribute("data-next"), credential: assertionJSON(cred)
      });
    }).then(function (result) {
      window.location.assign(result.redirect);
    }).catch(function (err) {
      button.disabled = false;
      showError(err && err.name === "NotAllowedError"
        ? button.getAttribute("data-cancelled") || err.message : err.message);
    });
  }

  function register(form) {
    var button = form.querySelector("button");
    button.disabled = true;
    post(form.getAttribute("data-options-url"), {}).then(function (options) {
      options.challenge = toBytes(options.challenge);
      options.user.id = toBytes(options.user.id);
      options.excludeCredentials = descriptors(options.excludeCredentials);
      return navigator.credentials.create({publicKey: options});
    }).then(function (cred) {
      var name = form.querySelector('input[name="name"]');
      return post(form.getAttribute("action"), {
        name: name ? name.value : "", credential: attestationJSON(cred)
      });
    }).then(function (result) {
      window.location.assign(result.redirect);
    }).catch(function (err) {
      button.disabled = false;
      showError(err.message);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var supported = !!(window.PublicKeyCredential && navigator.credentials);
    document.querySelectorAll("[data-passkey]").forEach(function (button) {
      if (!supported) { button.hidden = true; return; }
      button.addEventListener("click", function () { signIn(button); });
    });
    var form = document.getElementById("passkey-register");
    if (form) {
      if (!supported) { form.hidden = true; return; }
      form.addEventListener("submit", function (event) { event.preventDefault(); register(form); });
    }
  });
})();

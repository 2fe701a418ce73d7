// O2O Settle portal: the little script the pages need, no build step and nothing fetched from elsewhere.
// - the sign-in forms send the browser's time zone (dates are shown in it);
// - deadlines count down; the jobs table follows a running job's progress without a reload;
// - a statement's digest is recomputed here from the document shown (SHA-256, WebCrypto);
// - "Sign in this browser": an Ed25519 key file is read by this page only (never sent), imported into
//   WebCrypto, and signs the canonical document; the signature and key id fill the form to send.
"use strict";

function hex(buffer) {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromBase64Url(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(b64 + "===".slice((b64.length + 3) % 4)), (c) => c.charCodeAt(0));
}

function pemBody(pem) {
  const m = pem.match(/-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/);
  if (!m) throw new Error("not an unencrypted PKCS#8 PEM key (BEGIN PRIVATE KEY)");
  return Uint8Array.from(atob(m[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

async function checkDigest() {
  const doc = document.getElementById("canonical");
  const shown = document.getElementById("digest");
  const out = document.getElementById("digest-check");
  if (!doc || !shown || !out || !window.crypto || !crypto.subtle) return;
  const data = new TextEncoder().encode(doc.dataset.canonical);
  const digest = hex(await crypto.subtle.digest("SHA-256", data));
  out.textContent = digest === shown.textContent.trim() ? "✔ recomputed in this browser" : "✘ differs from the document shown";
}

async function signWithKeyFile(input) {
  const status = document.getElementById("sign-status");
  const form = document.getElementById("sign-form");
  const doc = document.getElementById("canonical");
  try {
    const file = input.files[0];
    if (!file) return;
    const key = await crypto.subtle.importKey("pkcs8", pemBody(await file.text()), { name: "Ed25519" }, true, ["sign"]);
    const jwk = await crypto.subtle.exportKey("jwk", key);
    const keyId = hex(await crypto.subtle.digest("SHA-256", fromBase64Url(jwk.x))).slice(0, 16);
    const signature = hex(await crypto.subtle.sign({ name: "Ed25519" }, key, new TextEncoder().encode(doc.dataset.canonical)));
    input.value = "";  // the key file is not kept in the page
    form.elements.signature.value = signature;
    const select = form.elements.key_id;
    if (![...select.options].some((o) => o.value === keyId)) select.add(new Option(keyId + " (from your key file)", keyId));
    select.value = keyId;
    status.textContent = "Signed in this browser with key " + keyId + ". Review and send the signature.";
    form.querySelector("button[type=submit]").focus();
  } catch (err) {
    status.textContent = "Could not sign: " + err.message;
  }
}

// A table that says it is still changing (jobs queued or running) is fetched again every 2 s and swapped
// in place, until it no longer asks to be (the fragment drops its data-refresh).
function refreshing() {
  const box = document.querySelector("[data-refresh]");
  if (!box) return;
  setTimeout(async () => {
    const response = await fetch(box.dataset.refresh, { credentials: "same-origin" });
    if (!response.ok) return;
    const holder = document.createElement("div");
    holder.innerHTML = await response.text();
    const fresh = holder.firstElementChild;
    if (fresh) box.replaceWith(fresh);
    refreshing();
  }, 2000);
}

function countdowns() {
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  for (const el of document.querySelectorAll("[data-deadline]")) {
    const day = new Date(el.dataset.deadline + "T00:00:00");
    const left = Math.round((day - today) / 86400000);
    el.textContent = left < 0 ? -left + " days overdue" : left === 0 ? "due today" : left + " days left";
  }
}

document.addEventListener("DOMContentLoaded", () => {
  let zone = "UTC";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (e) { /* keep UTC */ }
  for (const el of document.querySelectorAll("input[data-timezone]")) el.value = zone;
  countdowns();
  checkDigest();
  refreshing();
  const keyInput = document.querySelector("input[data-sign-key]");
  if (keyInput) keyInput.addEventListener("change", () => signWithKeyFile(keyInput));
});

/* flask-allcot-privacy consent: Consent Mode defaults, the banner without a reload,
   script gating and clearing on withdrawal. No framework; loaded in <head>, not deferred,
   so Google Consent Mode is "denied" before any Google tag can run. */
(function () {
  "use strict";

  var node = document.getElementById("privacy-consent-settings");
  if (!node) { return; }
  var settings;
  try { settings = JSON.parse(node.textContent); } catch (e) { return; }
  var granted = settings.decided ? settings.granted.slice() : ["necessary"];
  var analyticsConfigured = false;

  // Google Consent Mode v2: everything denied until the visitor allows it.
  window.dataLayer = window.dataLayer || [];
  function gtag() { window.dataLayer.push(arguments); }
  if (typeof window.gtag !== "function") { window.gtag = gtag; }

  function consentMode(categories) {
    var mode = {};
    Object.keys(settings.consentMode).forEach(function (category) {
      settings.consentMode[category].forEach(function (signal) {
        mode[signal] = categories.indexOf(category) !== -1 ? "granted" : "denied";
      });
    });
    return mode;
  }

  window.gtag("consent", "default", consentMode(["necessary"]));
  if (granted.length > 1) { window.gtag("consent", "update", consentMode(granted)); }

  function configureAnalytics() {
    if (!settings.analyticsId || analyticsConfigured) { return; }
    analyticsConfigured = true;
    window["ga-disable-" + settings.analyticsId] = false;
    window.gtag("js", new Date());
    window.gtag("config", settings.analyticsId, { cookie_expires: settings.cookieExpires });
  }
  if (granted.indexOf("analytics") !== -1) { configureAnalytics(); }

  // Bring gated scripts and iframes of the granted categories to life.
  function activate(categories) {
    var gated = document.querySelectorAll("script[data-privacy-category], iframe[data-privacy-category]");
    Array.prototype.forEach.call(gated, function (element) {
      if (categories.indexOf(element.getAttribute("data-privacy-category")) === -1) { return; }
      if (element.tagName === "IFRAME") {
        var src = element.getAttribute("data-privacy-src");
        if (!src) { return; }
        element.removeAttribute("srcdoc");
        element.removeAttribute("data-privacy-src");
        element.setAttribute("src", src);
        return;
      }
      if (element.getAttribute("type") !== "text/plain") { return; }
      var live = document.createElement("script");
      Array.prototype.forEach.call(element.attributes, function (attribute) {
        if (attribute.name === "type" || attribute.name === "data-privacy-type") { return; }
        live.setAttribute(attribute.name, attribute.value);
      });
      // The type the host wanted (such as "module"), kept aside while the script was inert.
      var wanted = element.getAttribute("data-privacy-type");
      if (wanted) { live.setAttribute("type", wanted); }
      // Browsers hide a nonce from the attributes; carry it over for the page's CSP.
      if (element.nonce) { live.nonce = element.nonce; }
      live.async = element.hasAttribute("async");
      if (!element.hasAttribute("src")) { live.text = element.text; }
      element.parentNode.replaceChild(live, element);
    });
  }

  // Withdrawal clears: expire the category's browser cookies on this host and its parents.
  function clearCookies(entries) {
    if (!entries.length) { return; }
    var names = document.cookie.split(";").map(function (pair) {
      return pair.split("=")[0].trim();
    }).filter(Boolean);
    var host = window.location.hostname;
    var domains = [""];
    var labels = host.split(".");
    if (!/^[\d.]+$/.test(host) && host.indexOf(":") === -1) {
      for (var i = 0; i < labels.length - 1; i++) {
        var domain = labels.slice(i).join(".");
        domains.push("; domain=" + domain, "; domain=." + domain);
      }
    }
    names.forEach(function (name) {
      var matches = entries.some(function (entry) {
        return name === entry.name || (entry.pattern && name.indexOf(entry.name) === 0);
      });
      if (!matches) { return; }
      domains.forEach(function (domain) {
        document.cookie = name + "=; expires=Thu, 01 Jan 1970 00:00:00 GMT; path=/" + domain;
      });
    });
  }

  function apply(result) {
    var before = granted;
    granted = result.granted;
    window.gtag("consent", "update", consentMode(granted));
    if (settings.analyticsId && granted.indexOf("analytics") === -1) {
      // Google's documented switch: the tag stops sending anything on this page.
      window["ga-disable-" + settings.analyticsId] = true;
    }
    if (granted.indexOf("analytics") !== -1 && before.indexOf("analytics") === -1) {
      configureAnalytics();
    }
    clearCookies(result.clear || []);
    activate(granted);
    document.dispatchEvent(new CustomEvent("privacy:consent", { detail: result }));
  }

  function announce(form, message) {
    var status = document.querySelector("[data-privacy-consent-status]");
    if (status) { status.textContent = message; }
    var banner = form.closest("[data-privacy-consent-banner]");
    if (banner) {
      banner.hidden = true;
      var main = document.getElementById("main");
      if (banner.contains(document.activeElement) && main) {
        main.setAttribute("tabindex", "-1");
        main.focus({ preventScroll: true });
      }
    }
  }

  function send(form, action) {
    var data = new FormData(form);
    data.set("action", action);
    // Not form.action: the buttons named "action" shadow that property.
    return fetch(form.getAttribute("action") || settings.endpoint, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().then(function (body) {
        if (response.ok && body.ok) { return body; }
        throw new Error("refused");
      });
    });
  }

  function wire(form) {
    form.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      var action = submitter && submitter.name === "action" ? submitter.value : "save";
      event.preventDefault();
      var buttons = form.querySelectorAll("button");
      Array.prototype.forEach.call(buttons, function (button) { button.disabled = true; });
      send(form, action).then(function (result) {
        apply(result);
        if (form.querySelectorAll) {
          Array.prototype.forEach.call(form.querySelectorAll("input[name=categories]"), function (box) {
            box.checked = result.granted.indexOf(box.value) !== -1;
          });
        }
        announce(form, settings.messages.saved);
      }).catch(function () {
        var status = document.querySelector("[data-privacy-consent-status]");
        if (status) { status.textContent = settings.messages.failed; }
        // Fall back to the plain form: it works without JavaScript too.
        var input = document.createElement("input");
        input.type = "hidden"; input.name = "action"; input.value = action;
        form.appendChild(input);
        HTMLFormElement.prototype.submit.call(form);
      }).then(function () {
        Array.prototype.forEach.call(buttons, function (button) { button.disabled = false; });
      });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-privacy-consent-form]"), wire);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());

// Shows each meeting's time in the visitor's own zone, prefills the
// sign-up form's zone, and adds copy buttons. The page works without it.
// Text from the schedule is only ever set with textContent.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) return;
  var opts = function (o) { o.timeZone = zone; return new Intl.DateTimeFormat(undefined, o); };
  var day = opts({ weekday: "short", day: "numeric", month: "short", year: "numeric" });
  var clock = opts({ hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  // The zone as the browser names it in the visitor's own locale (JST in
  // Japanese, GMT+9 in US English), never a name the server chose.
  var tzName = opts({ timeZoneName: "short" });
  var shortName = function (d) {
    var parts = tzName.formatToParts(d);
    for (var i = 0; i < parts.length; i++) if (parts[i].type === "timeZoneName") return parts[i].value;
    return "";
  };
  var calZone = document.body.getAttribute("data-zone");
  if (calZone && calZone !== zone) {
    var times = document.querySelectorAll(".meeting time[data-end]");
    for (var i = 0; i < times.length; i++) {
      var t = times[i];
      var start = new Date(t.getAttribute("datetime"));
      var end = new Date(t.getAttribute("data-end"));
      if (isNaN(start) || isNaN(end)) continue;
      var text = "Your time (" + zone + "): " + day.format(start) + ", " + clock.format(start) + "–";
      if (day.format(end) !== day.format(start)) text += day.format(end) + ", ";
      text += clock.format(end) + " " + shortName(start);
      var local = t.parentNode.parentNode.querySelector(".local");
      if (local) { local.textContent = text; local.hidden = false; local.setAttribute("data-zone", zone); }
    }
    var note = document.querySelector(".js-local");
    if (note) note.hidden = false;
  }
  var input = document.getElementById("zone");
  if (input && input.getAttribute("data-default") !== null && input.value === input.getAttribute("data-default")) {
    input.value = zone;
  }
  var list = document.getElementById("zones");
  if (list && Intl.supportedValuesOf) {
    try {
      var all = Intl.supportedValuesOf("timeZone");
      var frag = document.createDocumentFragment();
      for (var j = 0; j < all.length; j++) { var o = document.createElement("option"); o.value = all[j]; frag.appendChild(o); }
      list.textContent = "";
      list.appendChild(frag);
    } catch (e) { /* keep the server's list */ }
  }
  var buttons = document.querySelectorAll(".copy-button");
  for (var k = 0; k < buttons.length; k++) {
    (function (b) {
      var field = b.parentNode.querySelector("input.copy");
      if (!field || !navigator.clipboard) return;
      b.hidden = false;
      b.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () { b.textContent = "Copied"; });
      });
    })(buttons[k]);
  }
})();

// mi-exercise site: a copy button on code blocks. No other host, no dependencies.
(function () {
  "use strict";
  function copyText(text, button) {
    function done(label) { button.textContent = label; setTimeout(function () { button.textContent = "copy"; }, 1200); }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done("copied"); }, function () { done("select and copy"); });
    } else {
      done("select and copy");
    }
  }
  document.querySelectorAll(".highlight").forEach(function (block) {
    var pre = block.querySelector("pre");
    if (!pre) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = "copy";
    button.addEventListener("click", function () { copyText(pre.innerText, button); });
    block.appendChild(button);
  });
}());

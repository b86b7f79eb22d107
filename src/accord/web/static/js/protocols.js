/* Protocol pages: the Print button (CSP allows no inline handlers). */
(function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();

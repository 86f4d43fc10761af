// leadledger dashboard: draw every Vega-Lite chart of the page with the shipped vega-embed.
// Each chart element gets data-rendered="true" once drawn (browser tests wait for it), or
// data-error with the message when the spec fails.
(function () {
  "use strict";
  function draw(el) {
    var src = document.querySelector('script[data-spec-for="' + el.dataset.chart + '"]');
    if (!src) { return; }
    var spec = JSON.parse(src.textContent);
    vegaEmbed(el, spec, { renderer: "svg", actions: false })
      .then(function () { el.dataset.rendered = "true"; })
      .catch(function (err) { el.dataset.error = String(err); console.error(err); });
  }
  document.querySelectorAll("[data-chart]").forEach(draw);
  // a breakdown or period change applies at once; dates wait for the Apply button
  document.querySelectorAll("form.filters select").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
})();

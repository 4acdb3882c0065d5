/* Draw every Plotly figure on the page from its JSON script tag.
   Markup: <div data-chart="ID"></div> beside {{ figure|json_script:"ID" }}.
   The figures are built on the server (performance/charts.py); each chart
   has a caption and a data table, so nothing is lost without JavaScript. */
(function () {
  "use strict";

  var CONFIG = { responsive: true, displayModeBar: false, displaylogo: false };

  function draw() {
    if (typeof window.Plotly === "undefined") {
      return;
    }
    var targets = document.querySelectorAll("[data-chart]");
    Array.prototype.forEach.call(targets, function (element) {
      var source = document.getElementById(element.getAttribute("data-chart"));
      if (!source) {
        return;
      }
      var figure = JSON.parse(source.textContent);
      window.Plotly.newPlot(element, figure.data, figure.layout, CONFIG).then(function () {
        element.setAttribute("data-rendered", "true");
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();

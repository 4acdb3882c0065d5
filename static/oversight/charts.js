/* Draw the Plotly figures of a page as they scroll into view, laid out for
   the width they are drawn at.

   Markup: <div data-chart="ID"></div> beside {{ figure|json_script:"ID" }},
   and this script's tag names Plotly's: <script src="…/charts.js"
   data-plotly="…/plotly-basic.min.js" defer>, loaded only when needed.
   The figures are built on the server (performance/charts.py, the layout for a
   desktop width); each chart has a caption and a data table, so a chart that
   is never drawn (no JavaScript, not scrolled to) loses nothing.

   - Lazy: a chart is drawn when it comes within a quarter screen of the viewport
     (IntersectionObserver), so a dashboard of eight charts draws the one or
     two in view at load, and Plotly's work for the others waits. The empty
     box already has the chart's height, so the page does not jump.
   - Fitted: ``fit`` adapts the layout to the box's width (ticks that fit
     without overlapping or being cut, a legend in one column on a phone, the
     height to hold it) and is applied again when the width changes.
   - data-badges="outside" on the box: the page shows the variation and
     assurance badges itself (in HTML, which wraps), so the figure's own badge
     annotations are left out and the space above the plot with them.
   - data-rendered="true" is set once a chart is drawn (the browser tests and
     bench/pages.py wait for it). */
(function () {
  "use strict";

  var CONFIG = { responsive: true, displayModeBar: false, displaylogo: false };
  var NARROW = 640; // px: below this a chart's legend takes one column
  var TICK_SPACE = 64; // px per x tick label of a period ("Sep 2026")
  var DAY_TICK_SPACE = 100; // px per x tick label of a day ("10 Feb 2026")
  var LEGEND_ROW = 20; // px per legend row
  var DAY_MS = 86400000;

  function copy(value) {
    return JSON.parse(JSON.stringify(value));
  }

  function legendEntries(figure) {
    return figure.data.filter(function (trace) {
      return trace.showlegend !== false;
    }).length;
  }

  function fit(figure, width, options) {
    var layout = copy(figure.layout);
    var meta = layout.meta || {};
    if (options && options.badgesOutside && meta.badges_height) {
      layout.annotations = (layout.annotations || []).filter(function (note) {
        return !/ badge$/.test(note.name || "");
      });
      layout.margin = Object.assign({}, layout.margin, {
        t: layout.margin.t - meta.badges_height,
      });
    }
    var xaxis = (layout.xaxis = Object.assign({}, layout.xaxis));
    var space = xaxis.type === "date" ? DAY_TICK_SPACE : TICK_SPACE;
    var ticks = Math.max(2, Math.floor(Math.max(width - 80, space) / space));
    if (xaxis.type === "date" && xaxis.dtick) {
      // Days: tick every day while they fit, else every few days.
      var days = figure.data[0] ? figure.data[0].x.length : 0;
      xaxis.dtick = Math.max(1, Math.ceil(days / ticks)) * DAY_MS;
    } else {
      xaxis.nticks = ticks;
    }
    xaxis.tickangle = 0;
    if (layout.showlegend !== false && layout.legend) {
      var perRow = width < NARROW ? 1 : Math.max(1, Math.round(1 / layout.legend.entrywidth));
      var rows = Math.ceil(legendEntries(figure) / perRow);
      var desktopRows = Math.ceil(legendEntries(figure) / Math.round(1 / layout.legend.entrywidth));
      layout.legend = Object.assign({}, layout.legend, { entrywidth: 1 / perRow });
      layout.height = layout.height + (rows - desktopRows) * LEGEND_ROW;
    }
    return layout;
  }

  function figureOf(element) {
    var source = document.getElementById(element.getAttribute("data-chart"));
    return source ? JSON.parse(source.textContent) : null;
  }

  function optionsOf(element) {
    return { badgesOutside: element.getAttribute("data-badges") === "outside" };
  }

  function draw(element) {
    loadPlotly().then(function () {
      drawNow(element);
    });
  }

  function drawNow(element) {
    var figure = element._oversightFigure;
    if (!figure || element._oversightWidth !== undefined || typeof window.Plotly === "undefined") {
      return;
    }
    var width = element.clientWidth;
    element._oversightWidth = width;
    window.Plotly.newPlot(element, figure.data, fit(figure, width, optionsOf(element)), CONFIG).then(
      function () {
        element.style.minHeight = "";
        element.setAttribute("data-rendered", "true");
      }
    );
  }

  function refit(element) {
    var width = element.clientWidth;
    if (element._oversightWidth === undefined || width === element._oversightWidth) {
      return;
    }
    element._oversightWidth = width;
    var figure = element._oversightFigure;
    window.Plotly.react(element, figure.data, fit(figure, width, optionsOf(element)), CONFIG);
  }

  function start() {
    var elements = Array.prototype.slice.call(document.querySelectorAll("[data-chart]"));
    if (!elements.length) {
      return;
    }
    // Fetch and parse Plotly once a chart is within two screens, so that it
    // is ready by the time the chart scrolls into view, without holding up a
    // page whose charts are further down.
    if ("IntersectionObserver" in window) {
      var approaching = new IntersectionObserver(
        function (entries) {
          if (entries.some(function (entry) { return entry.isIntersecting; })) {
            approaching.disconnect();
            loadPlotly();
          }
        },
        { rootMargin: "200% 0px" }
      );
      elements.forEach(function (element) {
        approaching.observe(element);
      });
    }
    elements.forEach(function (element) {
      element._oversightFigure = figureOf(element);
      if (element._oversightFigure) {
        // Reserve the chart's height, so the page does not jump as it is drawn.
        var layout = fit(element._oversightFigure, element.clientWidth, optionsOf(element));
        element.style.minHeight = layout.height + "px";
      }
    });
    if ("IntersectionObserver" in window) {
      var observer = new IntersectionObserver(
        function (entries) {
          entries.forEach(function (entry) {
            if (entry.isIntersecting) {
              observer.unobserve(entry.target);
              draw(entry.target);
            }
          });
        },
        { rootMargin: "25% 0px" }
      );
      elements.forEach(function (element) {
        observer.observe(element);
      });
    } else {
      elements.forEach(draw);
    }
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        elements.forEach(refit);
      }, 150);
    });
  }

  // Plotly itself (1.2 MB to parse) is loaded only when a chart is on its way
  // into view (within two screens) or is to be drawn, never for a page, or the
  // part of a page, without charts.
  var script = document.currentScript;
  var plotlyUrl = script && script.getAttribute("data-plotly");
  var plotlyLoading = null;

  function loadPlotly() {
    if (!plotlyLoading) {
      plotlyLoading = new Promise(function (resolve, reject) {
        if (typeof window.Plotly !== "undefined" || !plotlyUrl) {
          resolve();
          return;
        }
        var tag = document.createElement("script");
        tag.src = plotlyUrl;
        tag.onload = resolve;
        tag.onerror = reject;
        document.head.appendChild(tag);
      });
    }
    return plotlyLoading;
  }

  window.OversightCharts = { fit: fit };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

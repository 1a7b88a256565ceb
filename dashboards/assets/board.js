// The live board's front-end: one script for every page. It opens one server-sent
// event stream for its page; the server coalesces (one whole view at most every
// 250 ms), and the page repaints only the latest view it has, so bursts of records
// never queue up work here. Text is set with textContent, never innerHTML.
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  var key = params.get("key");
  function withKey(url) {
    if (!key) return url;
    return url + (url.indexOf("?") >= 0 ? "&" : "?") + "key=" + encodeURIComponent(key);
  }

  var path = location.pathname.replace(/\/+$/, "");
  var page = "board", id = null, m;
  if ((m = path.match(/^\/board\/events\/([^/]+)$/))) { page = "event"; id = decodeURIComponent(m[1]); }
  else if ((m = path.match(/^\/board\/venues\/([^/]+)$/))) { page = "venue"; id = decodeURIComponent(m[1]); }
  else if (path === "/board/alerts") { page = "alerts"; }

  // What tests (and curious people) can read: updates received and applied, bytes,
  // points per chart, heat-map cells.
  var live = window.boardLive = { page: page, updates: 0, applied: 0, bytes: 0, charts: {}, heatCells: 0 };

  document.querySelectorAll("a[data-nav]").forEach(function (a) { a.href = withKey(a.getAttribute("href")); });

  // ---- small helpers ----
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "text") el.textContent = attrs[k];
      else if (k === "class") el.className = attrs[k];
      else if (k === "style") el.style.cssText = attrs[k];
      else el.setAttribute(k, attrs[k]);
    });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c == null) continue;
      el.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return el;
  }
  function pct(v) { return v == null ? "—" : v.toFixed(1) + " %"; }
  function prob(p) { return p == null ? "—" : Math.round(p * 100) + " %"; }
  function money(minor, cur) { return (minor / 100).toFixed(2) + " " + (cur || ""); }
  function when(ms) { return ms == null ? "—" : new Date(ms).toISOString().slice(0, 16).replace("T", " "); }
  function time(ms) { return new Date(ms).toISOString().slice(11, 19); }
  function card(k, v) { return h("div", { class: "card" }, h("div", { class: "v", text: v }), h("div", { class: "k", text: k })); }
  function link(href, text) { return h("a", { href: withKey(href), text: text }); }
  function slot(parent, cls) {
    var el = parent.querySelector("." + cls);
    if (!el) { el = h("div", { class: cls }); parent.appendChild(el); }
    return el;
  }
  function section(title, cls) {
    var main = document.getElementById("main");
    var el = main.querySelector("[data-section='" + cls + "']");
    if (!el) {
      el = h("div", { "data-section": cls, class: "panel" }, h("h2", { text: title }));
      main.appendChild(el);
    }
    return el;
  }

  // ---- charts (uPlot) ----
  var PALETTE = ["#2f6fde", "#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#d35400", "#7f8c8d"];
  var charts = {};
  // Columns sharing one time axis from several (t, v) series (ms in, seconds out).
  function align(list) {
    var ts = {};
    list.forEach(function (s) { s.t.forEach(function (t) { ts[t] = true; }); });
    var xs = Object.keys(ts).map(Number).sort(function (a, b) { return a - b; });
    var cols = [xs.map(function (t) { return t / 1000; })];
    list.forEach(function (s) {
      var at = {};
      s.t.forEach(function (t, i) { at[t] = s.v[i]; });
      cols.push(xs.map(function (t) { return at[t] == null ? null : at[t]; }));
    });
    return cols;
  }
  function chart(name, parent, series, data, opts) {
    live.charts[name] = data[0].length;
    var box = slot(parent, "chart-" + name);
    box.classList.add("chart");
    var c = charts[name];
    var sig = series.map(function (s) { return s.label; }).join("|");
    if (c && c.sig === sig) { c.plot.setData(data); return; }
    if (c) c.plot.destroy();
    box.textContent = "";
    if (data[0].length === 0) { delete charts[name]; return; }
    var width = Math.max(320, Math.floor(box.getBoundingClientRect().width || parent.clientWidth || 640) - 10);
    var plot = new uPlot(Object.assign({
      width: width, height: 220,
      series: [{}].concat(series.map(function (s, i) {
        return Object.assign({ stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: true }, s);
      })),
      axes: [{}, { size: 60 }],
      legend: { live: false },
      cursor: { show: false },
    }, opts || {}), data, box);
    charts[name] = { plot: plot, sig: sig };
  }

  // ---- pages ----
  function renderKpis(parent, k) {
    var box = slot(parent, "cards");
    box.textContent = "";
    box.appendChild(card("abandoned carts", pct(k.abandonment_pct)));
    box.appendChild(card("delivery failures", pct(k.delivery_failure_pct)));
    box.appendChild(card("dead-lettered input", pct(k.deadletter_pct)));
    box.appendChild(card("records accepted", String(k.counters.accepted_inputs)));
  }

  function renderBoard(v) {
    var main = document.getElementById("main");
    if (!main.querySelector("h1")) { main.textContent = ""; main.appendChild(h("h1", { text: "Sell-out board" })); }
    renderKpis(main, v.kpis);
    var table = main.querySelector("table.events");
    if (!table) {
      table = h("table", { class: "events" }, h("thead", null, h("tr", null,
        h("th", { text: "event" }), h("th", { text: "venue" }), h("th", { text: "starts" }),
        h("th", { class: "num", text: "sold" }), h("th", { text: "" }),
        h("th", { class: "num", text: "P(14 d)" }), h("th", { class: "num", text: "P(by start)" }),
        h("th", { text: "expected sell-out" }), h("th", { text: "trend" }), h("th", { text: "prices now" }))),
        h("tbody"));
      main.appendChild(table);
    }
    var body = table.querySelector("tbody");
    body.textContent = "";
    v.events.forEach(function (e) {
      var prices = h("div", { class: "prices" });
      e.categories.forEach(function (c) { prices.appendChild(h("span", { text: c.name + ": " + money(c.price_minor, c.currency) })); });
      var arrow = { up: "▲ up", down: "▼ down", flat: "▶ flat" }[e.trend];
      body.appendChild(h("tr", null,
        h("td", null, link("/board/events/" + encodeURIComponent(e.event_id), e.name)),
        h("td", null, link("/board/venues/" + encodeURIComponent(e.venue_id), e.venue_id)),
        h("td", { text: when(e.start_ms) }),
        h("td", { class: "num", text: pct(e.sold_pct) + " (" + e.sold + "/" + e.capacity + ")" }),
        h("td", null, h("div", { class: "bar" }, h("span", { style: "width:" + Math.min(100, e.sold_pct || 0) + "%" }))),
        h("td", { class: "num", title: e.expected_basis === "pace" ? "pace forecast: no trained model yet" : "model", text: prob(e.p_14d) + (e.p_14d != null && e.expected_basis === "pace" ? " (pace)" : "") }),
        h("td", { class: "num", title: e.expected_basis === "pace" ? "pace forecast: no trained model yet" : "model", text: prob(e.p_by_start) + (e.p_by_start != null && e.expected_basis === "pace" ? " (pace)" : "") }),
        h("td", { text: when(e.expected_ms) + (e.expected_ms != null && e.expected_basis === "pace" ? " (pace)" : "") }),
        h("td", { class: "trend-" + e.trend, text: arrow }),
        h("td", null, prices)));
    });
    var panel = section("Tickets sold (booking curves)", "curves");
    chart("booking", panel, v.events.map(function (e) { return { label: e.name }; }),
      align(v.events.map(function (e) { return e.booking; })));
  }

  function renderEvent(v) {
    var e = v.event, main = document.getElementById("main");
    var title = main.querySelector("h1");
    if (!title) { main.textContent = ""; title = main.appendChild(h("h1")); }
    title.textContent = e.name + " — " + pct(e.sold_pct) + " sold";
    var cards = slot(main, "cards");
    cards.textContent = "";
    cards.appendChild(card("P(sell-out in 14 d)", prob(e.p_14d)));
    cards.appendChild(card("P(sell-out by start)", prob(e.p_by_start)));
    cards.appendChild(card("expected sell-out" + (e.expected_basis === "pace" ? " (pace)" : ""), when(e.expected_ms)));
    cards.appendChild(card("abandoned carts", String(e.abandoned)));
    var grid = slot(main, "grid2");
    // Every panel exists before any chart measures its width.
    ["booking", "prices", "carts", "buzz"].forEach(function (n) { slot(grid, "panel-" + n).classList.add("panel"); });
    var b = v.booking;
    var booking = slot(grid, "panel-booking");
    booking.classList.add("panel");
    if (!booking.querySelector("h2")) booking.appendChild(h("h2", { text: "Booking curve and forecast band" }));
    chart("booking", booking, [
      { label: "sold", width: 2 },
      { label: "low", dash: [4, 4], stroke: "#9aa5b5" },
      { label: "forecast", dash: [2, 3], stroke: "#e67e22" },
      { label: "high", dash: [4, 4], stroke: "#9aa5b5" }],
      [b.t.map(function (t) { return t / 1000; }), b.sold, b.lo, b.mid, b.hi]);
    var prices = slot(grid, "panel-prices");
    prices.classList.add("panel");
    if (!prices.querySelector("h2")) prices.appendChild(h("h2", { text: "Price history per category" }));
    chart("prices", prices, v.categories.map(function (c) { return { label: c.name }; }),
      align(v.categories.map(function (c) { return c.price_series; })));
    var list = slot(prices, "changes");
    list.textContent = "";
    v.categories.forEach(function (c) {
      c.prices.slice(0, 5).forEach(function (p) {
        list.appendChild(h("div", { class: "muted", text: time(p.time_ms) + " " + c.name + ": " +
          money(p.old_minor, c.currency) + " → " + money(p.new_minor, c.currency) + " — " + p.reason + ": " + p.detail }));
      });
    });
    var carts = slot(grid, "panel-carts");
    carts.classList.add("panel");
    if (!carts.querySelector("h2")) carts.appendChild(h("h2", { text: "Abandoned carts per minute" }));
    chart("abandoned", carts, [{ label: "abandoned" }], align([v.abandoned]));
    var buzz = slot(grid, "panel-buzz");
    buzz.classList.add("panel");
    if (!buzz.querySelector("h2")) buzz.appendChild(h("h2", { text: "Buzz and sentiment" }));
    chart("buzz", buzz, [{ label: "posts/min" }, { label: "sentiment", scale: "s" }],
      align([v.buzz.posts, v.buzz.sentiment]),
      { axes: [{}, { size: 60 }, { side: 1, scale: "s", grid: { show: false } }], scales: { s: { range: [-1, 1] } } });
    var sig = section("Signals", "signals");
    var ul = slot(sig, "list");
    ul.textContent = "";
    v.signals.slice(0, 20).forEach(function (s) { ul.appendChild(h("div", { text: time(s.time_ms) + "  " + s.kind + "  " + s.text })); });
  }

  function heatColour(v, max) {
    // Log scale: gates at the rush would otherwise wash every stand out.
    var x = max > 0 ? Math.log1p(v) / Math.log1p(max) : 0;
    var hue = 220 - 220 * x; // blue (empty) to red (full)
    return "hsl(" + hue.toFixed(0) + ",75%," + (92 - 42 * x).toFixed(0) + "%)";
  }

  function renderVenue(v) {
    var main = document.getElementById("main");
    if (!main.querySelector("h1")) { main.textContent = ""; main.appendChild(h("h1", { text: v.name })); }
    var cards = slot(main, "cards");
    cards.textContent = "";
    cards.appendChild(card("vouchers sent", String(v.vouchers.sent)));
    cards.appendChild(card("delivered", String(v.vouchers.delivered)));
    cards.appendChild(card("failed", String(v.vouchers.failed)));
    cards.appendChild(card("redeemed", v.vouchers.redeemed == null ? "n/a" : String(v.vouchers.redeemed)));
    var panel = section("Zone occupancy (zones × minutes)", "heat");
    var grid = slot(panel, "heat");
    var shape = v.zones.length + "x" + v.minutes.length;
    if (grid.dataset.shape !== shape) {
      // Built once per shape; later updates only recolour the cells.
      grid.textContent = "";
      grid.dataset.shape = shape;
      grid.style.gridTemplateColumns = "max-content repeat(" + Math.max(1, v.minutes.length) + ", minmax(8px, 1fr))";
      v.zones.forEach(function (z) {
        grid.appendChild(h("div", { class: "heat-label", text: z.name }));
        v.minutes.forEach(function () { grid.appendChild(h("div", { class: "heat-cell" })); });
      });
    }
    var els = grid.querySelectorAll(".heat-cell"), cells = 0;
    v.zones.forEach(function (z, i) {
      v.cells[i].forEach(function (c, j) {
        var el = els[cells++];
        el.className = "heat-cell" + (c == null ? " empty" : "");
        el.style.background = c == null ? "" : heatColour(c, v.max);
        el.title = z.name + " " + time(v.minutes[j]) + ": " + (c == null ? "—" : c);
      });
    });
    grid.dataset.cells = String(cells);
    live.heatCells = cells;
    var q = section("Queue length per stand", "queues");
    chart("queues", q, v.queues.map(function (s) { return { label: s.stand_id }; }),
      align(v.queues.map(function (s) { return { t: s.t, v: s.length }; })));
  }

  function renderAlerts(v) {
    var main = document.getElementById("main");
    if (!main.querySelector("h1")) { main.textContent = ""; main.appendChild(h("h1", { text: "Alerts and KPIs" })); }
    renderKpis(main, v.kpis);
    var perMin = {};
    v.alerts.forEach(function (a) { var t = Math.floor(a.time_ms / 60000) * 60000; perMin[t] = (perMin[t] || 0) + 1; });
    var ts = Object.keys(perMin).map(Number).sort(function (a, b) { return a - b; });
    var panel = section("Alerts per minute", "rate");
    chart("alerts", panel, [{ label: "alerts" }], align([{ t: ts, v: ts.map(function (t) { return perMin[t]; }) }]));
    var ul = main.querySelector("ul.alerts");
    if (!ul) { main.appendChild(h("h2", { text: "Latest alerts" })); ul = main.appendChild(h("ul", { class: "alerts" })); }
    ul.textContent = "";
    v.alerts.slice(0, 100).forEach(function (a) {
      var li = h("li", null, h("span", { class: "muted", text: time(a.time_ms) + "  " }), h("span", { class: "kind", text: a.kind }), " ");
      if (a.event_id) li.appendChild(link("/board/events/" + encodeURIComponent(a.event_id), a.event_id));
      else if (a.venue_id) li.appendChild(link("/board/venues/" + encodeURIComponent(a.venue_id), a.venue_id));
      li.appendChild(document.createTextNode(" " + a.text));
      ul.appendChild(li);
    });
  }

  var render = { board: renderBoard, event: renderEvent, venue: renderVenue, alerts: renderAlerts }[page];

  // ---- the live stream ----
  var latest = null, scheduled = false;
  function paint() {
    scheduled = false;
    var v = latest;
    latest = null;
    if (!v) return;
    render(v);
    live.applied++;
    document.getElementById("live").textContent = "live · data to " + when(v.as_of_ms);
  }
  var url = "/board/api/stream?page=" + page + (id ? "&id=" + encodeURIComponent(id) : "");
  var source = new EventSource(withKey(url));
  source.addEventListener("update", function (ev) {
    live.updates++;
    live.bytes += ev.data.length;
    latest = JSON.parse(ev.data);
    document.getElementById("live").className = "live on";
    if (!scheduled) { scheduled = true; setTimeout(paint, 0); }
  });
  source.onerror = function () {
    document.getElementById("live").className = "live";
    document.getElementById("live").textContent = "reconnecting…";
  };
})();

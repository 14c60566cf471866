"use strict";
(() => {
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const params = new URLSearchParams(window.location.search);
  const requested = params.get("lang");
  const lang = requested === "fr" || requested === "en" ? requested : config.lang;
  const other = lang === "fr" ? "en" : "fr";
  const text = config.text[lang];
  const typeLabels = config.typeLabels[lang];
  const BAR = "#1d6f72";
  const AXIS = "#8a949e";
  const INK = "#1f2933";

  const byId = (id) => document.getElementById(id);
  const fill = (template, values) =>
    String(template).replace(/\{(\w+)\}/g, (whole, key) =>
      Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : whole);
  const escapeXml = (value) =>
    String(value).replace(/[&<>"']/g, (c) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const num = (value) => (typeof value === "number" && isFinite(value) ? value : 0);
  const coord = (value) => String(Math.round(value * 100) / 100);

  function formatNumber(value, decimals) {
    const fixed = Math.abs(num(value)).toFixed(decimals || 0);
    const parts = fixed.split(".");
    const grouped = parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, lang === "fr" ? "\u202f" : ",");
    const sign = num(value) < 0 && Number(fixed) !== 0 ? "-" : "";
    const fraction = parts[1] ? (lang === "fr" ? "," : ".") + parts[1] : "";
    return sign + grouped + fraction;
  }

  function formatPercent(rate) {
    const figure = formatNumber(num(rate) * 100, 1);
    return lang === "fr" ? figure + "\u00a0%" : figure + "%";
  }

  function formatDate(iso) {
    const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(iso || ""));
    if (!match) return String(iso || "");
    const day = Number(match[3]);
    const month = text.months[Number(match[2]) - 1] || match[2];
    return lang === "fr"
      ? (day === 1 ? "1er" : String(day)) + " " + month + " " + match[1]
      : month + " " + day + ", " + match[1];
  }

  function formatTimestamp(value) {
    if (!value) return text.never;
    const moment = new Date(value);
    if (isNaN(moment.getTime())) return String(value);
    try {
      return moment.toLocaleString(lang === "fr" ? "fr-CA" : "en-CA", {
        timeZone: "America/Toronto",
        dateStyle: "long",
        timeStyle: "short",
      });
    } catch (error) {
      return moment.toISOString();
    }
  }

  function plural(count, forms) {
    if (!Array.isArray(forms)) return String(forms);
    const singular = lang === "fr" ? count < 2 : count === 1;
    return singular ? forms[0] : forms[1];
  }

  function applyText() {
    const values = { fy: config.fiscalYear };
    document.documentElement.lang = lang;
    document.title = fill(text.title, values);
    document.querySelectorAll("[data-text]").forEach((element) => {
      const value = text[element.getAttribute("data-text")];
      if (typeof value === "string") element.textContent = fill(value, values);
    });
    const switcher = byId("lang-switch");
    const switched = new URLSearchParams(window.location.search);
    switched.set("lang", other);
    switcher.setAttribute("href", "?" + switched.toString());
    switcher.setAttribute("hreflang", other);
    switcher.setAttribute("lang", other);
    switcher.textContent = text.switch;
  }

  function svgOpen(title, width, height) {
    return (
      '<svg viewBox="0 0 ' + coord(width) + " " + coord(height) + '" role="img" aria-label="' +
      escapeXml(title) + '" font-family="system-ui, sans-serif" font-size="12" fill="' + INK + '">' +
      "<title>" + escapeXml(title) + "</title>"
    );
  }

  // items: [{label, sublabel, value}] drawn as vertical bars.
  function columnChart(title, items) {
    const pad = 8, slot = 30, top = 20, plot = 140, bottom = 36;
    const width = Math.max(pad * 2 + slot * Math.max(items.length, 1), 240);
    const height = top + plot + bottom;
    const peak = Math.max(1, ...items.map((item) => num(item.value)));
    const base = top + plot;
    const step = (width - pad * 2) / Math.max(items.length, 1);
    let svg = svgOpen(title, width, height);
    svg += '<line x1="' + pad + '" y1="' + base + '" x2="' + coord(width - pad) + '" y2="' + base +
      '" stroke="' + AXIS + '" stroke-width="1"/>';
    items.forEach((item, index) => {
      const centre = pad + step * index + step / 2;
      const bar = (Math.max(num(item.value), 0) / peak) * plot;
      const name = item.label + (item.sublabel ? " " + item.sublabel : "");
      svg += '<rect x="' + coord(centre - step * 0.32) + '" y="' + coord(base - bar) + '" width="' +
        coord(step * 0.64) + '" height="' + coord(bar) + '" fill="' + BAR + '"><title>' +
        escapeXml(name + text.colon + formatNumber(item.value)) + "</title></rect>";
      svg += '<text x="' + coord(centre) + '" y="' + coord(base - bar - 5) +
        '" text-anchor="middle" font-size="11">' + escapeXml(formatNumber(item.value)) + "</text>";
      svg += '<text x="' + coord(centre) + '" y="' + (base + 14) +
        '" text-anchor="middle" font-size="10"><tspan>' + escapeXml(item.label) + "</tspan>";
      if (item.sublabel) {
        svg += '<tspan x="' + coord(centre) + '" dy="13" font-size="9" fill="#52606d">' +
          escapeXml(item.sublabel) + "</tspan>";
      }
      svg += "</text>";
    });
    return svg + "</svg>";
  }

  // items: [{label, value}] drawn as horizontal bars, each label above its bar (phone friendly).
  function barChart(title, items) {
    const pad = 8, row = 36, width = 360, room = 52;
    const height = pad * 2 + row * Math.max(items.length, 1);
    const peak = Math.max(1, ...items.map((item) => num(item.value)));
    const area = width - pad * 2 - room;
    let svg = svgOpen(title, width, height);
    items.forEach((item, index) => {
      const y = pad + row * index;
      const bar = (Math.max(num(item.value), 0) / peak) * area;
      svg += '<text x="' + pad + '" y="' + (y + 12) + '">' + escapeXml(item.label) + "</text>";
      svg += '<rect x="' + pad + '" y="' + (y + 17) + '" width="' + coord(Math.max(bar, 1)) +
        '" height="12" rx="2" fill="' + (bar > 0 ? BAR : AXIS) + '"><title>' +
        escapeXml(item.label + text.colon + formatNumber(item.value)) + "</title></rect>";
      svg += '<text x="' + coord(pad + Math.max(bar, 1) + 6) + '" y="' + (y + 27) + '">' +
        escapeXml(formatNumber(item.value)) + "</text>";
    });
    return svg + "</svg>";
  }

  function figure(value, label) {
    const box = document.createElement("div");
    box.className = "figure";
    const strong = document.createElement("span");
    strong.className = "value";
    strong.textContent = value;
    const caption = document.createElement("span");
    caption.className = "label";
    caption.textContent = label;
    box.append(strong, caption);
    return box;
  }

  function render(answer) {
    const ind = (answer && answer.indicators) || {};
    const scalar = (name) => num(ind[name]);
    const object = (name) => (ind[name] && typeof ind[name] === "object" ? ind[name] : {});

    let period = fill(text.period, { start: formatDate(answer.start), end: formatDate(answer.end) });
    if (answer.as_of && answer.end && answer.as_of < answer.end) {
      period += " · " + fill(text.as_of, { as_of: formatDate(answer.as_of) });
    }
    byId("period").textContent = period;

    const figures = byId("figures");
    figures.replaceChildren(
      figure(formatNumber(scalar("members.total")),
        plural(scalar("members.total"), text.members_total)),
      figure(formatNumber(scalar("members.joined")),
        plural(scalar("members.joined"), text.members_joined)),
      figure(formatPercent(scalar("participation.rate")), text.participation_rate),
      figure(formatNumber(scalar("outreach.people_reached")),
        plural(scalar("outreach.people_reached"), text.people_reached)),
      figure(formatNumber(scalar("ambassadors.mobilized")),
        plural(scalar("ambassadors.mobilized"), text.ambassadors_mobilized)),
      figure(formatNumber(scalar("activities.total")),
        plural(scalar("activities.total"), text.activities_total)),
    );

    const months = object("members.joined_by_month");
    const monthItems = Object.keys(months).sort().map((key) => {
      const match = /^(\d{4})-(\d{2})$/.exec(key);
      const short = match ? text.months_short[Number(match[2]) - 1] : undefined;
      return short
        ? { label: short, sublabel: match[1], value: num(months[key]) }
        : { label: key, sublabel: "", value: num(months[key]) };
    });
    byId("chart-joins").innerHTML = columnChart(text.joins_by_month, monthItems);

    const regions = object("members.by_region");
    const known = config.regions.map((pair) => pair[0]);
    const regionItems = config.regions.map((pair) => ({ label: pair[1], value: num(regions[pair[0]]) }))
      .concat(Object.keys(regions).filter((code) => known.indexOf(code) < 0).sort()
        .map((code) => ({ label: code, value: num(regions[code]) })));
    byId("chart-regions").innerHTML = barChart(text.members_by_region, regionItems);

    const byType = object("participation.by_activity_type");
    const typeItems = config.activityTypes.map((type) => ({
      label: typeLabels[type] || type,
      value: num(byType[type]),
    }));
    byId("chart-types").innerHTML = barChart(text.participation_by_type, typeItems);

    byId("chart-outreach").innerHTML = barChart(text.reached_chart, [
      { label: text.reached_cine, value: scalar("outreach.people_reached") },
      { label: text.reached_parcours, value: scalar("parcours.participants") },
      { label: text.reached_ambassadors, value: scalar("ambassadors.people_reached") },
    ]);
    const facts = byId("outreach-list");
    facts.replaceChildren();
    [
      [text.cine_discussions, "outreach.cine_discussions"],
      [text.cine_regions, "outreach.regions"],
      [text.partners, "outreach.partners"],
      [text.parcours_sessions, "parcours.sessions"],
      [text.parcours_regions, "parcours.regions"],
      [text.ambassador_actions, "ambassadors.actions"],
    ].forEach((pair) => {
      const term = document.createElement("dt");
      term.textContent = pair[0];
      const detail = document.createElement("dd");
      detail.textContent = formatNumber(scalar(pair[1]));
      facts.append(term, detail);
    });

    const freshness = (answer && answer.freshness) || {};
    const streams = ["membership", "events", "ambassadors"].map((name) => {
      const entry = freshness[name] || {};
      return text["stream_" + name] + text.colon + formatTimestamp(entry.last_event_at);
    });
    byId("freshness").textContent = text.freshness + text.colon + streams.join(" · ");

    document.querySelectorAll("section.panel").forEach((panel) => { panel.hidden = false; });
  }

  function showStatus(message, failed) {
    const status = byId("status");
    status.className = failed ? "status error" : "status";
    status.setAttribute("role", failed ? "alert" : "status");
    status.hidden = false;
    const line = document.createElement("span");
    line.textContent = message;
    status.replaceChildren(line);
    if (failed) {
      const retry = document.createElement("button");
      retry.type = "button";
      retry.textContent = text.retry;
      retry.addEventListener("click", load);
      status.append(retry);
    }
  }

  function load() {
    showStatus(text.loading, false);
    let url = config.apiBase + "/v1/indicators/" + encodeURIComponent(config.fiscalYear);
    const asOf = params.get("as_of");
    if (asOf) url += "?as_of=" + encodeURIComponent(asOf);
    return fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then((response) => {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then((answer) => {
        if (!answer || typeof answer !== "object") throw new Error("JSON");
        render(answer);
        byId("status").hidden = true;
      })
      .catch((error) => {
        document.querySelectorAll("section.panel").forEach((panel) => { panel.hidden = true; });
        const message = error && /^HTTP \d+$/.test(error.message) ? error.message : text.network;
        showStatus(fill(text.error, { detail: message }), true);
      });
  }

  applyText();
  load();
})();

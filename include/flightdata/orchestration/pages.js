// The page's kind, argument and prefix come from its <main>: the script is one static file,
// so the pages' Content-Security-Policy can allow scripts from this app only.
const {kind: KIND, arg: ARG, prefix: PREFIX} = document.querySelector("main").dataset;
const root = document.getElementById("content");
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
  return node;
}
function table(caption, head, rows) {
  const t = el("table", {}, el("caption", {class: "l"}, caption));
  t.append(el("tr", {}, ...head.map((h, i) => el("th", {class: i ? "" : "l"}, h))));
  for (const r of rows) t.append(el("tr", {}, ...r.map((c, i) => el("td", {class: i ? "" : "l"}, c))));
  return t;
}
const pct = v => v == null ? "–" : (100 * v).toFixed(2) + "%";
async function api(path) {
  const token = localStorage.getItem("token");
  const r = await fetch(PREFIX + "/api/" + path, {headers: token ? {Authorization: "Bearer " + token} : {}});
  if (r.status === 401 || r.status === 403) throw {signin: true};
  const body = await r.json();
  if (!r.ok) throw new Error(body.detail || r.statusText);
  return body;
}
const render = {
  async overview() {
    const d = await api("overview");
    const rows = d.hours.map(h => [h.hour, h.records ?? "–", pct(h.quality),
      h.compaction ? pct(+h.compaction.completeness) : "not compacted",
      h.compaction ? h.compaction.rows : "–",
      h.compaction ? `${h.compaction.minutes_present}/${h.compaction.minutes_planned}` : "–",
      h.compaction ? h.compaction.compacted_at : "–"]);
    const reports = el("ul", {"aria-label": "latest reports"},
      ...d.reports.map(day => el("li", {}, el("a", {href: `${PREFIX}/report/${day}`}, `Report ${day}`))));
    return [el("p", {}, `OpenSky credits left: ${d.credits_left ?? "unknown"} · ` +
        `missed deadlines (24 h): ${d.deadlines_missed} · generated ${d.generated_at}`),
      el("h2", {}, "Latest reports"), d.reports.length ? reports : el("p", {class: "muted"}, "No report yet."),
      el("h2", {}, "Hours"),
      table("Records, quality and compaction per hour (UTC)",
        ["hour", "records", "valid", "completeness", "compacted rows", "minutes", "compacted at"], rows)];
  },
  async map() {
    const d = await api("map");
    const canvas = el("canvas", {width: 1080, height: 540, role: "img",
      "aria-label": `Map of ${d.positions.length} aircraft positions`});
    const g = canvas.getContext("2d"), x = lon => (lon + 180) * 3, y = lat => (90 - lat) * 3;
    g.strokeStyle = "#1f3b5a";
    for (let lon = -180; lon <= 180; lon += 30) { g.beginPath(); g.moveTo(x(lon), 0); g.lineTo(x(lon), 540); g.stroke(); }
    for (let lat = -90; lat <= 90; lat += 30) { g.beginPath(); g.moveTo(0, y(lat)); g.lineTo(1080, y(lat)); g.stroke(); }
    g.fillStyle = "#7f9cc0"; g.font = "11px system-ui";
    for (let lon = -150; lon < 180; lon += 30) g.fillText(`${Math.abs(lon)}°${lon < 0 ? "W" : lon ? "E" : ""}`, x(lon) + 3, 532);
    for (let lat = -60; lat < 90; lat += 30) g.fillText(`${Math.abs(lat)}°${lat < 0 ? "S" : lat ? "N" : ""}`, 3, y(lat) - 3);
    for (const [lon, lat, ground] of d.positions) { g.fillStyle = ground ? "#f6ad55" : "#63b3ed"; g.fillRect(x(lon), y(lat), 2, 2); }
    const when = d.time ? new Date(d.time * 1000).toISOString() : "no snapshot yet";
    return [el("p", {}, `${d.positions.length} positions at ${when} (blue airborne, orange on the ground), from ${d.keys.join(", ") || "nothing"}`), canvas];
  },
  async report() {
    const d = await api("report/" + encodeURIComponent(ARG));
    const frame = el("iframe", {title: `Report ${d.day}`, sandbox: ""});
    frame.srcdoc = d.html;
    return [frame];
  },
  async lake() {
    const query = new URLSearchParams(location.search).toString();
    const d = await api("lake?" + query);
    const out = [el("p", {}, `Bucket ${d.bucket}`)];
    if (d.prefix !== undefined) {
      out.push(table(`Objects under ${d.prefix}${d.truncated ? " (first 1000)" : ""}`, ["key", "bytes"],
        d.objects.map(o => [el("a", {href: `${PREFIX}/lake?key=${encodeURIComponent(o.key)}`}, o.key), o.size])));
    } else {
      out.push(table("Objects", ["key", "bytes", "type", "modified"],
        d.objects.map(o => [o.key, o.size ?? o.error, o.content_type ?? "", o.last_modified ?? ""])));
      for (const o of d.objects) if (o.preview) out.push(el("h2", {}, o.key), el("pre", {}, o.preview));
    }
    return out;
  },
  async query() {
    const d = await api("query/" + encodeURIComponent(ARG));
    const s = d.statistics || {};
    const out = [el("p", {class: d.state === "SUCCEEDED" ? "" : "bad"}, `State: ${d.state}${d.reason ? " — " + d.reason : ""}`),
      el("p", {}, `Scanned ${s.DataScannedInBytes ?? 0} bytes in ${s.TotalExecutionTimeInMillis ?? 0} ms · results ${d.output ?? "none"}`),
      el("h2", {}, "SQL"), el("pre", {}, d.query)];
    if (d.rows.length > 1) out.push(el("h2", {}, "Results"), table("First rows", d.rows[0], d.rows.slice(1)));
    else if (d.state === "SUCCEEDED") out.push(el("p", {class: "muted"}, "The query returned no rows."));
    return out;
  },
};
render[KIND]().then(nodes => root.replaceChildren(...nodes), err => {
  root.replaceChildren(err && err.signin
    ? el("p", {}, "Sign in to Airflow first: ", el("a", {href: "/"}, "open the Airflow UI"), ", then come back.")
    : el("p", {class: "bad"}, `Could not load this page: ${err.message || err}`));
}).finally(() => root.setAttribute("aria-busy", "false"));

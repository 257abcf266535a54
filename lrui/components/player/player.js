const TYPES = {f8: Float64Array, f4: Float32Array, i4: Int32Array};
// {dtype, bdata} (base64) -> a typed array; anything else as it is
const decode = (v) => {
  if (!v || v.bdata === undefined) return v;
  const text = atob(v.bdata), bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return new TYPES[v.dtype](bytes.buffer);
};
// a trace's values, x and y decoded (an arrow's also has its hover text, and the run's whether
// it is in the legend)
const xy = (t) => ({...t, x: decode(t.x), y: decode(t.y)});
// Frame i's values for the moving traces: its path is the first i + 1 points of the run's
// (figures.frame_data does the same in Python; its place among them, path_at, is figures.PATH_AT).
const frameData = (run, i) => {
  run.xy = run.xy || xy(run.path);
  const data = run.frames[i].data.map(xy);
  data.splice(run.path_at, 0, {x: run.xy.x.subarray(0, i + 1), y: run.xy.y.subarray(0, i + 1)});
  return data;
};

// Put a run into the chart: its traces and ranges (one Plotly.update, which redraws the whole
// chart; a redraw-free animation frame and a relayout of the ticks measured no faster on the
// page), then its frames. One at a time for the whole page: a newer run waits for the one
// being put in.
const putIn = (gd, run) => {
  window.__lrQueue = (window.__lrQueue || Promise.resolve()).then(async () => {
    if (gd.__lrRun === run.id) return;  // (put in while this call waited its turn)
    gd.__lrRun = null;  // not ready until its frames are in
    const Plotly = window.Plotly, traces = run.traces.map(xy), layout = {}, values = {};
    // every attribute any trace sets (a trace without it keeps its own: undefined)
    for (const key of new Set(traces.flatMap(Object.keys))) values[key] = traces.map((t) => t[key]);
    for (const [name, value] of Object.entries(run.layout)) {  // "xaxis2.range", not xaxis2
      if (value && typeof value === "object" && !Array.isArray(value)) {
        for (const [key, inner] of Object.entries(value)) layout[`${name}.${key}`] = inner;
      } else layout[name] = value;
    }
    // on a phone, what the phone layout also sets (the arrows' legend) is the phone layout's
    if (gd.__lrNarrow) for (const key in layout) if (key in run.narrow) layout[key] = run.narrow[key];
    await Plotly.animate(gd, [null], {mode: "immediate"}).catch(() => {});  // stop a run playing
    await Plotly.update(gd, values, layout, run.indices);
    // one by one from the last: deleteFrames sorts a list of indices as text (10 before 9)
    for (let i = gd._transitionData._frames.length - 1; i >= 0; i--) Plotly.deleteFrames(gd, [i]);
    await Plotly.addFrames(gd, run.frames.map((f, i) => ({...f, data: frameData(run, i)})));
    gd.__lrRun = run.id;
  }).catch((e) => console.warn("player: could not put the run into the chart", e));
  return window.__lrQueue;
};

export default function ({ parentElement, data: bytes }) {
  const data = JSON.parse(new TextDecoder().decode(bytes));
  const $ = (selector) => parentElement.querySelector(selector);
  const root = $(".player"), play = $(".play"), scrub = $("input"), speed = $("select");
  const readout = $(".readout"), last = data.names.length - 1;
  let gd = null;
  root.dataset.run = data.id;
  let gone = false;  // the element was removed (the cleanup below ran)
  const current = () => !gone && root.dataset.run === data.id;  // false once a newer run took over
  const chart = () => [...document.querySelectorAll(".st-key-views .js-plotly-plot")]
    .filter((el) => !el.closest("[data-stale='true']")).pop();
  const options = (ms) => ({mode: "immediate", frame: {duration: ms, redraw: false},
                            transition: {duration: 0}});
  const animate = (el, frames, ms) =>  // a newer call interrupts it: that is no error here
    window.Plotly.animate(el, frames, options(ms)).catch(() => {});
  const show = (i) => {  // (the live math follows the "lr-frame" event)
    scrub.value = i;
    readout.textContent = data.readouts[i];
    window.__lrFrame = {run: data.id, index: i, epoch: Number(data.names[i])};
    window.dispatchEvent(new CustomEvent("lr-frame", {detail: window.__lrFrame}));
  };
  let held = false;  // paused while the page reruns (see hold below)
  const playing = (on) => { play.textContent = on ? "❚❚ Pause" : "▶ Play";
                            play.dataset.on = on ? "yes" : "";
                            window.__lrPlaying = on ? data.id : null; };
  const jump = (i) => {
    if (!gd) return;
    i = Math.max(0, Math.min(last, i));
    playing(false);
    animate(gd, [data.names[i]], 0);
    show(i);
  };
  const start = () => {
    if (!gd) return;
    const from = Number(scrub.value) >= last ? 0 : Number(scrub.value) + 1;
    playing(true);
    animate(gd, data.names.slice(from), data.ms / Number(speed.value));
  };
  const stop = () => {  // (not playing first: stopping may announce a frame; it stays as shown)
    playing(false);
    if (gd) animate(gd, [null], 0);
  };
  play.onclick = () => (play.dataset.on ? stop() : start());
  const steps = {first: () => 0, back: (i) => i - 1, forward: (i) => i + 1, last: () => last};
  parentElement.querySelectorAll("[data-go]").forEach((button) => {
    button.onclick = () => jump(steps[button.dataset.go](Number(scrub.value)));
  });
  scrub.max = last;
  scrub.oninput = () => jump(Number(scrub.value));
  speed.onchange = () => { if (play.dataset.on) start(); };
  // A rerun that keeps the run (an expander opened, a run pinned) keeps the player where it
  // was; a new run starts from its first epoch and plays once.
  const seen = window.__lrFrame && window.__lrFrame.run === data.id ? window.__lrFrame : null;
  // where attach() takes up the run: null for a new run (it plays from the start), else the
  // frame and whether it was playing (set again whenever the run is put into a chart anew)
  let resume = seen && {index: seen.index, playing: window.__lrPlaying === data.id};
  playing(false);
  show(seen ? seen.index : 0);
  const listen = (el) => {
    if (el.__player) {
      el.removeListener("plotly_animatingframe", el.__player.frame);
      el.removeListener("plotly_animated", el.__player.done);
    }
    // done: the run played to its last frame. (Not a hold's stop, whose event may come after
    // a quick rerun has ended the hold: the run would stay paused mid-way.)
    el.__player = {done: () => { if (!held && Number(scrub.value) === last) playing(false); },
                   // (a frame drawn after a pause or a jump: not shown)
                   frame: (e) => { if (play.dataset.on) show(data.names.indexOf(e.name)); }};
    el.on("plotly_animatingframe", el.__player.frame);
    el.on("plotly_animated", el.__player.done);
  };
  // Plotly.animate (redraw: false) recomputes every trace but draws only the moving ones: the
  // others lose the link to their drawing that a box or lasso selection needs (it would throw
  // and select nothing), at every frame while a run plays. So link them to their drawing
  // again as a drag starts and while it moves (a dozen traces: cheap), once for the page.
  const relink = () => document.querySelectorAll(".st-key-views .js-plotly-plot")
    .forEach((el) => {
      const drawn = new Map();
      el.querySelectorAll(".scatterlayer .trace").forEach((g) => {
        const cd = g.__data__;
        if (cd && cd[0] && cd[0].node3) drawn.set(cd[0].trace.uid, cd[0].node3);
      });
      (el.calcdata || []).forEach((cd) => {
        if (!cd[0].node3 && drawn.has(cd[0].trace.uid)) cd[0].node3 = drawn.get(cd[0].trace.uid);
      });
    });
  if (!window.__lrRelink) {
    window.__lrRelink = true;
    for (const type of ["mousedown", "touchstart"]) document.addEventListener(type, relink, true);
    for (const type of ["mousemove", "touchmove"]) {
      document.addEventListener(type, (e) => { if (e.buttons || e.touches) relink(); }, true);
    }
  }
  let tries = 0, busy = false;
  const attach = async () => {  // once the chart is drawn: put this run in, fit it, play it
    if (!current() || busy) return;
    const el = chart();
    if (!(el && window.Plotly && el._fullLayout)) {
      if (tries++ < 900) requestAnimationFrame(attach);
      return;
    }
    busy = true;
    if (el.__lrRun !== data.id) await putIn(el, data);
    if (el.clientWidth < 640 && !el.__lrNarrow) {
      el.__lrNarrow = true;
      await window.Plotly.relayout(el, data.narrow).catch(() => {});
    }
    busy = false;
    if (!current() || el.__lrRun !== data.id) return;
    gd = el;
    listen(el);
    // the new run is painted before its first frame is drawn
    await new Promise((done) => requestAnimationFrame(() => setTimeout(done)));
    if (!current()) return;
    if (!resume || resume.playing) start();
    else jump(resume.index);
    root.dataset.playing = data.id;  // (tests wait for this before they press anything)
  };
  // While the page reruns, a run playing holds still: its frames would take the browser's one
  // thread from the page being redrawn (on a slow machine, most of it). A rerun that keeps the
  // run plays it on, from the new player (resume) or, if Streamlit did not call one, here.
  window.__lrHold = (rerunning) => {
    if (!current() || !gd) return;
    if (rerunning && play.dataset.on && !held) {
      held = true;
      animate(gd, [null], 0);
    } else if (!rerunning && held) {
      held = false;
      // Play on only if the rerun kept this run. A new run's player (mounted by the same rerun,
      // often a moment after the script state changes) takes over instead: starting the old
      // run's frames first would delay putting the new run in by a frame's redraw.
      requestAnimationFrame(() => setTimeout(() => {
        if (current() && !held && play.dataset.on) start();
      }));
    }
  };
  const app = document.querySelector("[data-testid='stApp']");
  if (app && !window.__lrHeld) {
    window.__lrHeld = new MutationObserver(() =>
      window.__lrHold(app.dataset.testScriptState === "running"));
    window.__lrHeld.observe(app, {attributes: true, attributeFilter: ["data-test-script-state"]});
    // A key or a press on a sidebar control most likely starts a rerun, which the page shows
    // only once the server answers: hold already, and play on if no rerun came.
    const movesFocus = new Set(["Tab", "Shift", "Control", "Alt", "Meta", "Escape"]);
    let undo = null;
    const touched = (e) => {
      if (!e.target.closest?.("[data-testid='stSidebar']") || movesFocus.has(e.key)) return;
      window.__lrHold(true);
      clearTimeout(undo);
      undo = setTimeout(() => app.dataset.testScriptState === "running" ||
                              window.__lrHold(false), 1000);
    };
    document.addEventListener("keydown", touched, true);
    document.addEventListener("pointerdown", touched, true);
  }
  attach();
  // Streamlit draws a new chart when the data changes (and this player then gets a new run),
  // but also, rarely, for its own reasons: put the run into whichever chart is showing.
  // So does Plotly when Streamlit hands it the figure again (a resize): it may drop frames.
  const watch = setInterval(() => {
    if (!current() || !parentElement.isConnected) clearInterval(watch);
    else if (gd && !busy && (chart() !== gd ||
             gd._transitionData._frames.length !== data.names.length)) {
      // (a run that finished stays finished: it is taken up where it was, not played again)
      resume = {index: Number(scrub.value), playing: Boolean(play.dataset.on)};
      gd.__lrRun = null;
      gd = null;
      tries = 0;
      attach();
    }
  }, 250);
  // Streamlit calls this when the element leaves the page, and also at once for a mount that
  // a rerun superseded while it started (the element stays, and another call drives it): only
  // an element that left the page stops its timer and lets a waiting attach() give up.
  return () => {
    if (parentElement.isConnected) return;
    gone = true;
    clearInterval(watch);
  };
}

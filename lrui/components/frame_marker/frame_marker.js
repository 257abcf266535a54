// Moves the marker traces of one chart (its Streamlit key: data.chart) to the player's frame.
export default function ({ parentElement, data: bytes }) {
  const data = JSON.parse(new TextDecoder().decode(bytes));
  const readout = parentElement.querySelector(".marker-readout");
  const last = data.x.length - 1;
  // this run's chart: the live one (not a stale copy left during a rerun), once drawn
  const chart = () => [...document.querySelectorAll(`.st-key-${data.chart} .js-plotly-plot`)]
    .filter((el) => !el.closest("[data-stale='true']"))
    .find((el) => el._fullLayout && el._fullLayout.meta === data.run);
  let gone = false, wanted = null, tries = 0, waiting = false;
  const move = () => {  // to frame `wanted`, once the chart is there
    waiting = false;
    const gd = chart();
    if (gone || wanted === null) return;
    if (!(gd && window.Plotly)) {
      if (tries++ < 900) { waiting = true; requestAnimationFrame(move); }
      return;
    }
    const i = wanted, traces = data.uids.map((uid) => gd.data.findIndex((t) => t.uid === uid));
    window.Plotly.restyle(gd, {x: data.y.map(() => [data.x[i]]), y: data.y.map((y) => [y[i]])},
                          traces).catch(() => {});
    readout.dataset.index = i;
  };
  const show = (i) => {
    wanted = Math.max(0, Math.min(last, Number(i) || 0));
    readout.textContent = data.readouts[wanted];
    if (!waiting) move();
  };
  const now = window.__lrFrame;
  show(now && now.run === data.run ? now.index : last);
  const follow = (event) => {
    if (event.detail && event.detail.run === data.run) show(event.detail.index);
  };
  window.addEventListener("lr-frame", follow);
  readout.dataset.run = data.run;
  return () => {
    gone = true;
    window.removeEventListener("lr-frame", follow);
  };
}

// Moves the marker traces of one chart (its Streamlit key: data.chart) to the player's frame.
export default function ({ parentElement, data: bytes }) {
  const data = JSON.parse(new TextDecoder().decode(bytes));
  const readout = parentElement.querySelector(".marker-readout");
  const last = data.x.length - 1;
  // this run's chart: the live one (not a stale copy left during a rerun), once drawn
  const chart = () => [...document.querySelectorAll(`.st-key-${data.chart} .js-plotly-plot`)]
    .filter((el) => !el.closest("[data-stale='true']"))
    .find((el) => el._fullLayout && el._fullLayout.meta === data.run);
  const markers = (gd) => data.uids.map((uid) => gd.data.findIndex((t) => t.uid === uid));
  // the markers are where frame i puts them
  const placed = (gd, i) => markers(gd).every((k, j) => k >= 0 &&
    (gd.data[k].x[0] ?? null) === data.x[i] && (gd.data[k].y[0] ?? null) === data.y[j][i]);
  let wanted = last;
  const sync = () => {
    const gd = chart(), i = wanted;
    if (!(gd && window.Plotly)) return;
    const done = () => { if (i === wanted && placed(gd, i)) readout.dataset.index = i; };
    if (placed(gd, i)) done();
    else {
      window.Plotly.restyle(gd, {x: data.y.map(() => [data.x[i]]),
                                 y: data.y.map((y) => [y[i]])}, markers(gd))
        .then(done).catch(() => {});
    }
  };
  const show = (i) => {
    wanted = Math.max(0, Math.min(last, Number(i) || 0));
    readout.textContent = data.readouts[wanted];
    sync();
  };
  const now = window.__lrFrame;
  show(now && now.run === data.run ? now.index : last);
  const follow = (event) => {
    if (event.detail && event.detail.run === data.run) show(event.detail.index);
  };
  window.addEventListener("lr-frame", follow);
  // The chart may be drawn after this element, or drawn again from its figure (a rerun, a
  // resize), which puts the markers back at the last frame: put them where the player is.
  const watch = setInterval(() => {
    if (!parentElement.isConnected) clearInterval(watch);
    else sync();
  }, 250);
  readout.dataset.run = data.run;
  return () => {
    clearInterval(watch);
    window.removeEventListener("lr-frame", follow);
  };
}

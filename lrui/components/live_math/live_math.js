export default function ({ parentElement, data: bytes }) {
  const data = JSON.parse(new TextDecoder().decode(bytes));
  const root = parentElement.querySelector(".live");
  const heading = parentElement.querySelector(".heading");
  const lines = parentElement.querySelector(".lines");
  const last = data.frames.length - 1;
  const line = (text) => {  // wraps only at its "=" signs
    const div = document.createElement("div");
    div.className = "line";
    text.split(" = ").forEach((part, j) => {
      const span = document.createElement("span");
      span.className = "part";
      span.textContent = (j ? "= " : "") + part;
      div.append(span, " ");
    });
    return div;
  };
  const show = (i) => {
    i = Math.max(0, Math.min(last, Number(i) || 0));
    const [head, ...rest] = data.frames[i];
    root.dataset.index = i;
    heading.textContent = head;
    lines.replaceChildren(...rest.map(line));
    lines.hidden = rest.length === 0;
  };
  const now = window.__lrFrame;
  show(now && now.run === data.run ? now.index : 0);
  const follow = (event) => {
    if (event.detail && event.detail.run === data.run) show(event.detail.index);
  };
  if (window.__lrMath) window.removeEventListener("lr-frame", window.__lrMath);
  window.__lrMath = follow;  // one listener: this render's (an older one is replaced)
  window.addEventListener("lr-frame", follow);
  root.dataset.run = data.run;
  return () => {
    window.removeEventListener("lr-frame", follow);
    if (window.__lrMath === follow) window.__lrMath = null;
  };
}

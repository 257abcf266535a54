// The board's key for this tab: kept in sessionStorage (this tab only, gone when it closes), so
// a reload of the projected board, whose address no longer holds the key, opens it again. Given
// a key, it keeps it; either way it hands the page the key kept for the board's code ("" if
// none). Never in the address, never in another tab.
const STORE = "lr-board-keys";

const kept = () => {
  try {
    const keys = JSON.parse(window.sessionStorage.getItem(STORE) || "{}");
    return keys && typeof keys === "object" ? keys : {};
  } catch {
    return {};  // storage blocked or garbled: nothing kept
  }
};

export default function ({ data, setStateValue }) {
  const { code, key } = data || {};
  const keys = kept();
  if (code && key) {
    keys[code] = key;
    try {
      window.sessionStorage.setItem(STORE, JSON.stringify(keys));
    } catch {
      // not kept: a reload asks for the board's link again
    }
  }
  setStateValue("key", (code && typeof keys[code] === "string" && keys[code]) || "");
}

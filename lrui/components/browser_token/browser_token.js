// This browser's secret for classes: made once with crypto.getRandomValues, kept in
// localStorage (every tab of this browser profile shares it; another profile or computer has
// its own), and handed to the page on every mount. It never goes into the address.
const KEY = "lr-class-token";
const TOKEN = /^[A-Za-z0-9_-]{32,128}$/;

const stored = () => {
  try {
    return window.localStorage.getItem(KEY);
  } catch {
    return null;  // storage blocked: a token for this page only
  }
};

const fresh = () => {
  const bytes = crypto.getRandomValues(new Uint8Array(24));  // 192 bits
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};

export default function ({ setStateValue }) {
  let token = stored();
  if (!token || !TOKEN.test(token)) {
    token = fresh();
    try {
      window.localStorage.setItem(KEY, token);
    } catch {
      // kept for this page only
    }
  }
  setStateValue("token", token);
}

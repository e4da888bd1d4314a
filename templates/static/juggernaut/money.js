// Money for people, the browser's twin of routing/money.py format_money: "$1,234.50",
// "$0.50", "$0.0125", "$0.00000000049", "$0.00". A dollar or more: cents; below a dollar:
// three significant digits, at least two places. It works on the decimal text the server
// sends ("0.000000000490"), never through a float, so it rounds (half up) as Python does.
// tests/routing/test_money.py runs both on the same amounts.

const PLACES = 12;
const SIGNIFICANT = 3;

// Digits and exponent of a non-negative decimal text: "0.0125" -> {digits: "125", exp: -4}.
function parse(text) {
  const match = /^(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match || (match[1] === "" && (match[2] || "") === "")) return null;
  const whole = match[1] || "";
  const fraction = match[2] || "";
  const digits = (whole + fraction).replace(/^0+/, "");
  return { digits: digits, exp: -fraction.length + Number(match[3] || 0) };
}

// The value rounded half up to `places` decimals, as {whole, fraction} strings.
function round(value, places) {
  let digits = value.digits;
  let exp = value.exp;
  if (digits === "") return { whole: "0", fraction: "0".repeat(places) };
  if (exp < -places) {
    const drop = -places - exp;
    if (drop > digits.length) return { whole: "0", fraction: "0".repeat(places) };
    const kept = digits.slice(0, digits.length - drop) || "0";
    const up = digits.charAt(digits.length - drop) >= "5";
    digits = up ? increment(kept) : kept;
    exp = -places;
  }
  digits = digits + "0".repeat(exp + places);  // now exactly `places` decimals
  digits = digits.padStart(places + 1, "0");
  return { whole: digits.slice(0, digits.length - places).replace(/^0+(?=\d)/, ""), fraction: digits.slice(digits.length - places) };
}

function increment(digits) {
  const out = digits.split("");
  let i = out.length - 1;
  while (i >= 0) {
    if (out[i] === "9") { out[i] = "0"; i -= 1; continue; }
    out[i] = String(Number(out[i]) + 1);
    return out.join("");
  }
  return "1" + out.join("");
}

function grouped(whole) {
  return whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

export function formatMoney(amount) {
  if (amount === null || amount === undefined) return "—";
  let text = String(amount).trim();
  let sign = "";
  if (text.charAt(0) === "-") { sign = "-"; text = text.slice(1); }
  else if (text.charAt(0) === "+") { text = text.slice(1); }
  const value = parse(text);
  if (value === null) return "—";
  if (value.digits === "") return "$0.00";
  const adjusted = value.digits.length - 1 + value.exp;  // Decimal.adjusted()
  if (adjusted >= 0) {
    const cents = round(value, 2);
    return sign + "$" + grouped(cents.whole) + "." + cents.fraction;
  }
  const places = Math.min(Math.max(2, SIGNIFICANT - 1 - adjusted), PLACES);
  const rounded = round(value, places);
  if (rounded.whole !== "0") return sign + "$1.00";
  let fraction = rounded.fraction.replace(/0+$/, "");
  if (fraction === "") return "$0.00";
  while (fraction.length < 2) fraction += "0";
  return sign + "$0." + fraction;
}

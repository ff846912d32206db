// The causal explorer (explorer.html) in headless Chromium: makes a real run
// with the built binary, analyzes it, opens the explorer, clicks events and
// compares every event element's mark with happens-before rebuilt from the
// raw logs by tests/crosscheck/vclock.py (a transitive closure, written
// apart from the Rust code). Also: two events' relation, hiding and moving
// a lane, the Lamport axis, zooming; times the load and each click and
// takes a screenshot.
//
//   node tests/browser/explorer.test.mjs --bin PATH --work DIR
//        [--vms N] [--runtime SECS] [--seed S] [--clicks K] [--fast]
//        [--chromium /usr/bin/chromium] [--screenshot FILE] [--run DIR]
//
// --fast: tick rates 20..40 per second (a short run with many messages);
// --run DIR: an existing run folder instead of a new run (not with --vms).
// --skew MIN..MAX: the new run's --clock-skew (ms), so the hybrid logical
// clock the panel shows is ahead of the VMs' clocks.
// Exit 0 when everything holds; each failure is printed; the timings go to
// stdout as one JSON line starting "timing:".
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { mkdtempSync, existsSync, rmSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, k, all) => {
    if (a.startsWith("--")) acc.push([a.slice(2), all[k + 1] && !all[k + 1].startsWith("--") ? all[k + 1] : true]);
    return acc;
  }, []),
);
const opt = {
  bin: args.bin,
  work: args.work,
  vms: +(args.vms || 4),
  runtime: args.runtime || "3",
  seed: args.seed || "11",
  clicks: +(args.clicks || 12),
  chromium: args.chromium || "/usr/bin/chromium",
  screenshot: args.screenshot,
  run: args.run,
  fast: args.fast === true,
  skew: args.skew,
};
if (!opt.work || (!opt.bin && !opt.run)) {
  console.error("usage: explorer.test.mjs --bin PATH --work DIR [--vms N] [--runtime SECS] ...");
  process.exit(2);
}
const failures = [];
const fail = (what) => { failures.push(what); console.log(`FAIL: ${what}`); };
const check = (ok, what) => { if (!ok) fail(what); };

// The run: made here with the binary unless given.
function makeRun() {
  if (opt.run) return resolve(opt.run);
  const dir = join(opt.work, `run-${opt.vms}`);
  const rates = opt.fast ? ["--min-rate", "20", "--max-rate", "40"] : [];
  if (opt.skew) rates.push(`--clock-skew=${opt.skew}`);
  execFileSync(opt.bin, ["run", "--vms", String(opt.vms), "--runtime", opt.runtime, "--seed", opt.seed,
    "--base-port", "0", ...rates, "--logs", dir], { stdio: ["ignore", "ignore", "inherit"], timeout: 600_000 });
  return dir;
}

function analyze(dir) {
  if (opt.bin) execFileSync(opt.bin, ["analyze", dir], { stdio: ["ignore", "ignore", "inherit"], timeout: 600_000 });
  const page = join(dir, "report", "explorer.html");
  if (!existsSync(page)) throw new Error(`analyze wrote no ${page}`);
  return page;
}

// Every tick event's vector clock, from the logs alone, by vclock.py.
function reference(dir) {
  const py = `
import json, sys
sys.path.insert(0, sys.argv[1])
import vclock
logs = vclock.read_logs(sys.argv[2])
events, sends, anc = vclock.closure(logs)
vms = sorted(logs)
cl = vclock.clocks(events, anc, vms)
print(json.dumps({"vms": vms, "events": [[vm, int(d["tick"]), int(d["clock"]), d["event"], cl[k]] for k, (vm, i, d) in enumerate(events)]}))
`;
  const out = execFileSync("python3", ["-c", py, resolve(here, "../crosscheck"), dir], { maxBuffer: 1 << 30 });
  const r = JSON.parse(out);
  // The hybrid logical clock, rebuilt by hlc.py: [vm, tick, l, c, l - pt].
  const hlc = new Map(JSON.parse(execFileSync("python3", [resolve(here, "../crosscheck/hlc.py"), dir, "--json"], { maxBuffer: 1 << 30 }))
    .map(([vm, tick, l, c, ahead]) => [`${vm}:${tick}`, { c, ahead }]));
  const events = r.events.map(([vm, tick, lamport, kind, clock]) => ({ vm, tick, lamport, kind, clock, key: `${vm}:${tick}`, hlc: hlc.get(`${vm}:${tick}`) }));
  return { vms: r.vms, events, byKey: new Map(events.map((e) => [e.key, e])) };
}

// b happens before a: b's clock at most a's everywhere, and not a itself.
function leq(b, a, vms) {
  for (const vm of vms) if ((b.clock[vm] || 0) > (a.clock[vm] || 0)) return false;
  return true;
}
function relation(a, b, vms) {
  if (a === b) return "selected";
  if (leq(b, a, vms)) return "past";
  if (leq(a, b, vms)) return "future";
  return "concurrent";
}

const MARKS = ["past", "future", "concurrent", "selected"];
// [vm, tick, class] of every event element.
const readMarks = (page) => page.$$eval("[data-vm][data-tick]", (els) =>
  els.map((el) => [+el.dataset.vm, +el.dataset.tick, el.getAttribute("class") || ""]));
const frame = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));

async function checkMarks(page, ref, a, label) {
  const marks = await readMarks(page);
  let bad = 0;
  for (const [vm, tick, cls] of marks) {
    const b = ref.byKey.get(`${vm}:${tick}`);
    const has = MARKS.filter((m) => cls.split(/\s+/).includes(m));
    const want = relation(a, b, ref.vms);
    if (has.length !== 1 || has[0] !== want) {
      if (bad++ < 5) fail(`${label}: VM ${vm} tick ${tick} has [${has}], expected ${want}`);
    }
  }
  if (bad > 5) fail(`${label}: ${bad} elements marked wrongly in all`);
  return marks.length;
}

async function clickEvent(page, e, modifiers = []) {
  const el = page.locator(`[data-vm="${e.vm}"][data-tick="${e.tick}"]`);
  const t0 = performance.now();
  await el.click({ modifiers });
  await frame(page);
  return performance.now() - t0;
}

// A fixed choice of events: the first and last, receives and a spread.
function pick(events, k) {
  const chosen = new Set([0, events.length - 1]);
  const receives = events.map((e, i) => [e, i]).filter(([e]) => e.kind === "receive");
  for (let j = 0; j < 3 && j < receives.length; j++) chosen.add(receives[Math.floor(j * receives.length / 3)][1]);
  let x = 12345;
  while (chosen.size < Math.min(k, events.length)) {
    x = (x * 1103515245 + 12345) % 2147483648;
    chosen.add(x % events.length);
  }
  return [...chosen].map((i) => events[i]);
}

async function main() {
  const dir = makeRun();
  const file = analyze(dir);
  const ref = reference(dir);
  const profile = mkdtempSync(join(opt.work, "chromium-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: opt.chromium,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const timing = { vms: ref.vms.length, events: ref.events.length, loadMs: null, clickMs: [], inPageClickMs: [] };
  try {
    const page = context.pages()[0] || (await context.newPage());
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // Offline: any request but the file itself is a failure.
    await page.route("**/*", (route) => {
      if (route.request().url().startsWith("file://")) return route.continue();
      fail(`the page asked for ${route.request().url()}`);
      return route.abort();
    });
    // report.html links the explorer.
    await page.goto(`file://${join(dirname(file), "report.html")}`);
    const href = await page.getAttribute('a[href="explorer.html"]', "href");
    check(href === "explorer.html", "report.html links explorer.html");
    const t0 = performance.now();
    await page.goto(`file://${file}`);
    await page.waitForFunction(() => window.explorer && window.explorer.ready);
    await frame(page);
    timing.loadMs = performance.now() - t0;

    const marks = await readMarks(page);
    check(marks.length === ref.events.length, `${marks.length} event elements, ${ref.events.length} tick events in the logs`);
    const keys = new Set(marks.map(([vm, tick]) => `${vm}:${tick}`));
    check(keys.size === marks.length, "every (data-vm, data-tick) is one element");
    check([...keys].every((k) => ref.byKey.has(k)), "every element is a tick event of the logs");

    const chosen = pick(ref.events, opt.clicks);
    for (const a of chosen) {
      timing.clickMs.push(await clickEvent(page, a));
      await checkMarks(page, ref, a, `click on VM ${a.vm} tick ${a.tick}`);
      const panel = await page.textContent("#panel");
      check(panel.includes(`VM ${a.vm} tick ${a.tick}`) && panel.includes(`Lamport clock${a.lamport}`),
        `the panel names VM ${a.vm} tick ${a.tick} and its Lamport clock ${a.lamport}`);
      const vcCells = await page.$$eval("#panel table.vc td", (tds) => tds.map((td) => +td.textContent));
      check(JSON.stringify(vcCells) === JSON.stringify(ref.vms.map((vm) => a.clock[vm] || 0)),
        `the panel shows VM ${a.vm} tick ${a.tick}'s vector clock`);
      const h = a.hlc && `c = ${a.hlc.c}; l is ${(a.hlc.ahead / 1000).toFixed(3)} ms ahead`;
      check(h && panel.includes(h), `the panel shows VM ${a.vm} tick ${a.tick}'s hybrid logical clock (${h})`);
    }
    timing.inPageClickMs = await page.evaluate(() => window.explorer.timing.clicks);

    // Two events: the answer matches the reference, and the first is ringed.
    for (const [a, b] of [[chosen[0], chosen[1]], [chosen[2], chosen[0]], [chosen[3], chosen[4]]]) {
      if (!a || !b || a === b) continue;
      await clickEvent(page, a);
      timing.clickMs.push(await clickEvent(page, b, ["Shift"]));
      await checkMarks(page, ref, b, `shift-click on VM ${b.vm} tick ${b.tick}`);
      const answer = await page.textContent("#relation .answer");
      const rel = relation(b, a, ref.vms);
      const want = rel === "past" ? "a happens before b" : rel === "future" ? "b happens before a" : "concurrent";
      check(answer.includes(want), `a = VM ${a.vm} tick ${a.tick}, b = VM ${b.vm} tick ${b.tick}: "${answer}", expected "${want}"`);
      const pinned = await page.getAttribute(`[data-vm="${a.vm}"][data-tick="${a.tick}"]`, "class");
      check(pinned.includes("pinned"), "the first of two events is ringed (pinned)");
    }
    if (opt.screenshot) await page.screenshot({ path: opt.screenshot });

    // A lane hidden: its events leave; moved: its lane goes down one.
    const vm1 = ref.vms[0], count1 = ref.events.filter((e) => e.vm === vm1).length;
    await page.uncheck(`#lanes input[data-lane="0"]`);
    check((await page.$$(`[data-vm="${vm1}"]`)).length === 0, `VM ${vm1}'s lane hidden`);
    check((await readMarks(page)).length === ref.events.length - count1, "the other lanes stay");
    await page.check(`#lanes input[data-lane="0"]`);
    check((await page.$$(`[data-vm="${vm1}"]`)).length === count1, `VM ${vm1}'s lane shown again`);
    const cy = (vm) => page.$eval(`[data-vm="${vm}"]`, (el) => +el.getAttribute("cy"));
    const [y1, y2] = [await cy(ref.vms[0]), await cy(ref.vms[1])];
    await page.click(`#lanes button[data-down="0"]`);
    check(await cy(ref.vms[0]) === y2 && await cy(ref.vms[1]) === y1, "the first lane moved down one");

    // The label toggle offers the three clocks.
    const labels = await page.$$eval("#label option", (os) => os.map((o) => o.value));
    check(["lamport", "vc", "hlc"].every((l) => labels.includes(l)), `the labels offered: ${labels}`);
    await page.selectOption("#label", "hlc");
    await frame(page);

    // The Lamport axis: each event sits at its clock.
    await page.check(`input[name="axis"][value="lamport"]`);
    const xs = await page.$$eval("[data-vm][data-tick]", (els) => els.map((el) => [+el.dataset.vm, +el.dataset.tick, +el.getAttribute("cx")]));
    check(xs.every(([vm, tick, x]) => ref.byKey.get(`${vm}:${tick}`).lamport === x), "on the Lamport axis each event is at its clock");
    const a = chosen[chosen.length - 1];
    await clickEvent(page, a);
    await checkMarks(page, ref, a, "click on the Lamport axis");

    // Zoom in around the middle, then an event still takes its click.
    const before = await page.getAttribute("#plot", "transform");
    const box = await page.locator("#view").boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + 60);
    for (let k = 0; k < 5; k++) await page.mouse.wheel(0, -300);
    await frame(page);
    check(before !== (await page.getAttribute("#plot", "transform")), "the wheel zooms");
    const visible = await page.$$eval("[data-vm][data-tick]", (els) => {
      const r = document.getElementById("view").getBoundingClientRect();
      const el = els.find((el) => { const b = el.getBoundingClientRect(); return b.left > r.left + 80 && b.right < r.right - 30; });
      return el ? [+el.dataset.vm, +el.dataset.tick] : null;
    });
    check(visible !== null, "an event in view after zooming");
    if (visible) {
      const z = ref.byKey.get(`${visible[0]}:${visible[1]}`);
      await clickEvent(page, z);
      await checkMarks(page, ref, z, "click after zooming");
    }
    check(errors.length === 0, `no script error (${errors.join("; ")})`);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
  const round = (x) => Math.round(x);
  console.log("timing:", JSON.stringify({ ...timing, loadMs: round(timing.loadMs), clickMs: timing.clickMs.map(round),
    inPageClickMs: timing.inPageClickMs.map(round), maxClickMs: round(Math.max(...timing.clickMs)) }));
  if (failures.length) {
    console.log(`${failures.length} failures`);
    process.exit(1);
  }
  console.log(`ok: ${ref.events.length} events of ${ref.vms.length} VMs, ${opt.clicks} clicks checked`);
}

main().catch((e) => { console.log(`FAIL: ${e.stack || e}`); process.exit(1); });

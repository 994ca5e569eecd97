/* xaibook study kit: runs one exported study (window.XAIBOOK_STUDY, written by study-data.js)
 * with jsPsych 8. Written for the book (lib/xaibook/studykit); see README.txt beside this file.
 *
 * - condition: ?condition=NAME (fixed, for counterbalancing) or drawn at random once per participant;
 *   participant: ?participant=ID or a random id; redirect: ?redirect=https://... (e.g. Prolific's
 *   completion URL), offered on the end screen.
 * - trial order: shuffled per phase with a generator seeded by the export's seed and the participant.
 * - every finished trial is saved in the browser (localStorage) at once; a reload resumes after the
 *   last saved trial; on JATOS (a /publix/ URL) each trial is also sent as it ends (JSON lines).
 * - every text that comes from data is escaped before it reaches the page.
 */
(function () {
  "use strict";
  const S = window.XAIBOOK_STUDY;
  const PHASES = ["training", "validation", "test"];
  const params = new URLSearchParams(window.location.search);

  function esc(value) {
    return String(value === null || value === undefined ? "" : value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  // ---- seeded order: a string hash seeds mulberry32 ------------------------------------------
  function hash(text) {
    let h = 2166136261;
    for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619); }
    return h >>> 0;
  }
  function generator(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  function shuffled(items, rand) {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      const t = out[i]; out[i] = out[j]; out[j] = t;
    }
    return out;
  }
  function randomId() {
    const a = new Uint32Array(2);
    window.crypto.getRandomValues(a);
    return "P" + a[0].toString(36) + a[1].toString(36);
  }

  // ---- persistent state -----------------------------------------------------------------------
  const KEY = "xaibook-studykit:" + S.kit_id + ":" + (params.get("participant") || "");
  function loadState() {
    try { return JSON.parse(window.localStorage.getItem(KEY)); } catch (e) { return null; }
  }
  function saveState() {
    try { window.localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* storage off: CSV at the end still works */ }
  }

  function showError(message) {
    document.body.innerHTML = '<div class="xb-error" data-xb-screen="error"><p>' + esc(message) + "</p></div>";
  }

  let state = loadState();
  if (!state || state.kit_id !== S.kit_id) {
    let condition = params.get("condition");
    if (condition !== null && S.conditions.indexOf(condition) < 0) {
      showError("Unknown condition " + condition + "; use one of: " + S.conditions.join(", ") + ".");
      return;
    }
    if (condition === null) {
      condition = S.conditions[Math.floor(Math.random() * S.conditions.length)];
    }
    state = {
      kit_id: S.kit_id, participant: params.get("participant") || randomId(), condition: condition,
      assignment: params.get("condition") === null ? "random" : "url", consented: false, complete: false,
      started: new Date().toISOString(), rows: []
    };
    saveState();
  }

  // ---- data rows: one per finished trial, plus one 'complete' row -----------------------------
  const COLUMNS = ["kit_id", "study", "participant", "condition", "assignment", "group", "phase", "trial", "trial_id",
    "response", "rt_ms", "pre_response", "pre_rt_ms"].concat(S.followups.map(function (f) { return f.name; }),
    S.followups.map(function (f) { return f.name + "_rt_ms"; }), ["event", "started", "saved", "user_agent"]);
  let jatos = null;

  function csvCell(value) {
    const text = value === null || value === undefined ? "" : String(value);
    return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  function toCsv(rows) {
    return [COLUMNS.join(",")].concat(rows.map(function (r) {
      return COLUMNS.map(function (c) { return csvCell(r[c]); }).join(",");
    })).join("\n") + "\n";
  }
  function record(row) {
    const full = Object.assign({ kit_id: S.kit_id, study: S.study, participant: state.participant,
      condition: state.condition, assignment: state.assignment, started: state.started,
      saved: new Date().toISOString(), user_agent: navigator.userAgent }, row);
    COLUMNS.forEach(function (c) { if (full[c] === undefined || full[c] === null) { full[c] = ""; } });
    state.rows.push(full);
    saveState();
    if (jatos) { jatos.appendResultData(JSON.stringify(full) + "\n"); }
  }

  // ---- the participant's trials: their condition (and group), blocks in manifest order, phases in
  // order within a block, screens shuffled per phase with a generator seeded by seed and participant
  const rand = generator(hash(String(S.seed) + ":" + state.participant));
  let mine = S.trials.filter(function (t) { return t.condition === state.condition; });
  if (S.group_column) {
    const groups = mine.map(function (t) { return t.group; }).filter(function (g, i, all) { return all.indexOf(g) === i; });
    if (!state.group || groups.indexOf(state.group) < 0) {
      const fixed = params.get(S.group_column);
      if (fixed !== null && groups.indexOf(fixed) < 0) {
        showError("Unknown " + S.group_column + " " + fixed + "; use one of: " + groups.join(", ") + ".");
        return;
      }
      state.group = fixed !== null ? fixed : groups[Math.floor(Math.random() * groups.length)];
      saveState();
    }
    mine = mine.filter(function (t) { return t.group === state.group; });
  }
  const blocks = mine.map(function (t) { return t.block; }).filter(function (b, i, all) { return all.indexOf(b) === i; });
  const order = [];
  const position = { training: 0, validation: 0, test: 0 };
  blocks.forEach(function (block) {
    PHASES.forEach(function (phase) {
      shuffled(mine.filter(function (t) { return t.block === block && t.phase === phase; }), rand).forEach(function (t) {
        position[phase] += 1;
        order.push(Object.assign({ position: position[phase] }, t));
      });
    });
  });
  const done = {};
  state.rows.forEach(function (r) { if (r.trial_id) { done[r.phase + "/" + r.trial_id] = true; } });
  const remaining = order.filter(function (t) { return !done[t.phase + "/" + t.trial_id]; });

  // ---- screens ----------------------------------------------------------------------------------
  function img(path, cls, alt) {
    return path ? '<img class="' + cls + '" src="' + esc(path) + '" alt="' + esc(alt) + '">' : "";
  }
  function pictures(t) {
    if (t.stimulus) { return '<div class="xb-images">' + img(t.stimulus, "xb-stimulus", "trial screen") + "</div>"; }
    const parts = [img(t.image, "xb-image", "image"), img(t.explanation, "xb-explanation", "explanation")]
      .concat((t.examples || []).map(function (e) { return img(e, "xb-example", "example"); }));
    return '<div class="xb-images">' + parts.join("") + "</div>";
  }
  function buttonHtml(choice) {
    return '<button class="jspsych-btn">' + esc(choice) + "</button>";
  }
  function screen(kind, t, html) {
    return '<div class="xb-screen" data-xb-screen="' + kind + '" data-xb-trial="' + esc(t ? t.trial_id : "") +
      '" data-xb-phase="' + esc(t ? t.phase : "") + '">' + html + "</div>";
  }
  function paragraphs(texts) {
    return texts.map(function (p) { return "<p>" + esc(p) + "</p>"; }).join("");
  }

  function trialTimeline(t) {
    const answers = {};
    const steps = [];
    if (t.pre_question) {
      steps.push({
        type: jsPsychHtmlButtonResponse, choices: S.pre_options, button_html: buttonHtml,
        stimulus: screen("pre", t, '<p class="xb-question">' + esc(t.pre_question) + "</p>"),
        on_finish: function (d) { answers.pre_response = S.pre_options[d.response]; answers.pre_rt_ms = d.rt; }
      });
    }
    steps.push({
      type: jsPsychHtmlButtonResponse, choices: t.options, button_html: buttonHtml,
      enable_button_after: S.lock_ms,
      stimulus: screen("trial", t, (t.caption ? '<p class="xb-caption">' + esc(t.caption) + "</p>" : "") +
        pictures(t) + '<p class="xb-question">' + esc(t.question) + "</p>"),
      on_finish: function (d) { answers.response = t.options[d.response]; answers.rt_ms = d.rt; }
    });
    S.followups.filter(function (f) { return f.phases.indexOf(t.phase) >= 0; }).forEach(function (f) {
      steps.push({
        type: jsPsychHtmlButtonResponse, choices: f.options, button_html: buttonHtml,
        stimulus: screen("followup", t, '<p class="xb-question">' + esc(f.question) + "</p>"),
        on_finish: function (d) { answers[f.name] = f.options[d.response]; answers[f.name + "_rt_ms"] = d.rt; }
      });
    });
    if (t.phase === "training" && t.answer) {
      steps.push({
        type: jsPsychHtmlButtonResponse, choices: ["Continue"], button_html: buttonHtml,
        stimulus: function () {
          const right = answers.response === t.answer;
          return screen("feedback", t, '<p class="xb-feedback ' + (right ? "xb-right" : "xb-wrong") + '">' +
            (right ? "Correct." : "Not quite: the right answer was " + esc(t.answer) + ".") + "</p>");
        }
      });
    }
    const last = steps[steps.length - 1];
    const finish = last.on_finish;
    last.on_finish = function (d) {
      if (finish) { finish(d); }
      record(Object.assign({ phase: t.phase, trial: t.position, trial_id: t.trial_id, group: state.group || "" }, answers));
    };
    return { timeline: steps };
  }

  function download() {
    const blob = new Blob([toCsv(state.rows)], { type: "text/csv" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "studykit-" + S.kit_id + "-" + state.participant + ".csv";
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  function endScreen(message, offerData) {
    const redirect = params.get("redirect");
    const safe = redirect && /^https?:\/\//i.test(redirect) ? redirect : null;
    const el = document.querySelector(".jspsych-content") || document.body;
    if (offerData === false) {
      el.innerHTML = screen("end", null, "<h2>" + esc(message) + "</h2>");
      return;
    }
    el.innerHTML = screen("end", null, "<h2>" + esc(message) + "</h2>" +
      "<p>Your participant id: <code>" + esc(state.participant) + "</code>. Your answers are saved in this browser; " +
      "download them as a CSV file to hand them in.</p>" +
      '<p><button class="jspsych-btn" id="xb-download">Download my answers (CSV)</button></p>' +
      (safe ? '<p><a class="jspsych-btn" id="xb-redirect" href="' + esc(safe) + '">Finish and return</a></p>' : ""));
    document.getElementById("xb-download").addEventListener("click", download);
  }

  function start() {
    const jsPsych = initJsPsych({
      show_progress_bar: true, auto_update_progress_bar: true,
      on_finish: function () {
        if (state.declined) {
          endScreen("You did not agree to take part; nothing was kept.", false);
          return;
        }
        if (!state.complete) {
          state.complete = true;
          record({ event: "complete" });
        }
        if (jatos) { jatos.endStudyAjax(true); }
        endScreen("Thank you: the study is complete.");
      }
    });
    window.xaibookStudy = { state: state, csv: function () { return toCsv(state.rows); }, download: download };
    const timeline = [];
    const intro = [];
    if (!state.consented) {
      intro.push({
        type: jsPsychHtmlButtonResponse, choices: ["I agree", "I do not agree"], button_html: buttonHtml,
        stimulus: screen("consent", null, "<h2>" + esc(S.title) + "</h2>" + paragraphs(S.consent)),
        on_finish: function (d) {
          if (d.response === 1) {
            try { window.localStorage.removeItem(KEY); } catch (e) { /* nothing stored */ }
            state = { declined: true, rows: [] };
            return;
          }
          state.consented = true;
          saveState();
        }
      });
      timeline.push({
        type: jsPsychInstructions, show_clickable_nav: true, allow_backward: true,
        pages: S.instructions.map(function (p) { return screen("instructions", null, paragraphs(p)); })
      });
    }
    if (state.complete) {
      endScreen("You have already completed this study.");
      return;
    }
    const files = [];
    remaining.forEach(function (t) {
      [t.stimulus, t.image, t.explanation].concat(t.examples || []).forEach(function (f) { if (f) { files.push(f); } });
    });
    if (files.length) { timeline.push({ type: jsPsychPreload, images: files, show_progress_bar: false }); }
    let shown = { training: false, validation: false, test: false };
    remaining.forEach(function (t) {
      if (!shown[t.phase] && S.phase_intro[t.phase]) {
        shown[t.phase] = true;
        timeline.push({
          type: jsPsychHtmlButtonResponse, choices: ["Start"], button_html: buttonHtml,
          stimulus: screen("phase", null, paragraphs([S.phase_intro[t.phase]]))
        });
      }
      timeline.push(trialTimeline(t));
    });
    jsPsych.run(intro.concat([{ timeline: timeline, conditional_function: function () { return !state.declined; } }]));
  }

  if (window.location.pathname.indexOf("/publix/") >= 0) {
    const tag = document.createElement("script");
    tag.src = "jatos.js";
    tag.onload = function () { jatos = window.jatos; jatos.onLoad(start); };
    tag.onerror = start;
    document.head.appendChild(tag);
  } else {
    start();
  }
})();

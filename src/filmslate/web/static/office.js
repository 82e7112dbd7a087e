// The office's only script: filters submit on change, and each take says when it has played.
document.addEventListener("DOMContentLoaded", () => {
  for (const select of document.querySelectorAll("select.autosubmit")) {
    select.addEventListener("change", () => select.form.submit());
  }
  for (const video of document.querySelectorAll("video.take")) {
    video.addEventListener("ended", () => { video.dataset.played = "ended"; });
  }
  for (const form of document.querySelectorAll("form.verdict-form")) {
    form.addEventListener("submit", (event) => {
      if (!form.reason.value.trim()) { event.preventDefault(); form.reason.focus(); }
    });
  }
});

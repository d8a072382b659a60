// Enhancements only: the form works without this script.
(function () {
  "use strict";
  var form = document.getElementById("paste-form");
  var box = document.getElementById("log");
  var picker = document.getElementById("logfile");
  if (!form || !box) return;

  // Put a chosen or dropped file's text in the box, so it can be seen and trimmed before
  // matching. FileReader honours a UTF-8 or UTF-16 byte order mark, as Windows tools write.
  function load(file) {
    var reader = new FileReader();
    reader.onload = function () {
      box.value = String(reader.result);
      if (picker) picker.value = "";
      box.focus();
    };
    reader.readAsText(file);
  }

  if (picker) {
    picker.addEventListener("change", function () {
      if (picker.files && picker.files[0]) load(picker.files[0]);
    });
  }
  box.addEventListener("dragover", function (event) {
    event.preventDefault();
    box.classList.add("dragging");
  });
  box.addEventListener("dragleave", function () {
    box.classList.remove("dragging");
  });
  box.addEventListener("drop", function (event) {
    box.classList.remove("dragging");
    var files = event.dataTransfer && event.dataTransfer.files;
    if (files && files.length) {
      event.preventDefault();
      load(files[0]);
    }
  });
  box.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.submit();
    }
  });
  // After an answer, take keyboard users straight to it.
  var results = document.getElementById("results");
  if (results) results.focus();
})();

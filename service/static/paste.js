// Enhancements only: the page works without this script (the forms post and the answer
// comes back). With it, a file can be dropped into the box, Ctrl+Enter matches, the answer is
// copied as Markdown, and feedback and searches are sent without leaving the answer.
(function () {
  "use strict";
  var form = document.getElementById("paste-form");
  var box = document.getElementById("log");
  var picker = document.getElementById("logfile");
  if (!form || !box) return;

  // A message in a status line; `failed` shows it as a failure.
  function say(element, text, failed) {
    element.textContent = text;
    element.classList.toggle("failed", Boolean(failed));
  }

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

  // Copy for a ticket: the brief answer's Markdown (the same as /v1/match?detail=brief gives
  // for Accept: text/markdown) to the clipboard. Where the clipboard cannot be written (a page
  // served over plain http, or a browser that refuses), the text is selected for Ctrl+C.
  var copyButton = document.getElementById("copy-answer");
  var markdown = document.getElementById("answer-markdown");
  var ticket = document.getElementById("ticket");
  var copyStatus = document.getElementById("copy-status");
  if (copyButton && markdown && copyStatus) {
    var selectForCopying = function () {
      if (ticket) ticket.open = true;
      markdown.focus();
      markdown.select();
      var copied = false;
      try {
        copied = document.execCommand("copy");
      } catch (error) {
        copied = false;
      }
      say(
        copyStatus,
        copied
          ? "Copied the answer as Markdown: paste it into the ticket."
          : "The answer is selected below: press Ctrl+C (Cmd+C on a Mac) to copy it."
      );
    };
    copyButton.hidden = false;
    copyButton.addEventListener("click", function () {
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(markdown.value).then(function () {
          say(copyStatus, "Copied the answer as Markdown: paste it into the ticket.");
        }, selectForCopying);
      } else {
        selectForCopying();
      }
    });
  }

  // "Did this fix it?": the verdict goes to /v1/feedback and the answer stays where it is.
  var requestId = form.elements.namedItem("request_id");
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[name=helpful][data-issue]");
    if (!button || !requestId || !window.fetch) return;
    var match = button.closest("article.match");
    var status = match && match.querySelector(".feedback-status");
    if (!status) return;
    event.preventDefault();
    var buttons = match.querySelectorAll("button[name=helpful]");
    var helpful = button.value === "yes";
    var issue = button.getAttribute("data-issue");
    buttons.forEach(function (b) { b.disabled = true; });
    say(status, "Sending...");
    fetch("/v1/feedback", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ request_id: requestId.value, issue_id: issue, helpful: helpful }),
    })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) {
            say(status, body.detail || "The verdict was not recorded (" + response.status + ").", true);
            return;
          }
          var applied = body.feedback && body.feedback.status === "approved";
          say(
            status,
            "Thank you: " + issue + " is recorded as " +
              (helpful ? "the answer" : "not the answer") + ". " +
              (applied
                ? "It already counts in later answers."
                : "Once the knowledge base's maintainers review it, later answers will take it into account.")
          );
          buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b === button)); });
        });
      }, function () {
        say(status, "The verdict could not be sent: the service did not answer. Try again.", true);
      })
      .then(function () {
        buttons.forEach(function (b) { b.disabled = false; });
      });
  });

  // The search box: articles for the words, listed above the paste without leaving the answer.
  var searchForm = document.getElementById("search-form");
  var searchBox = document.getElementById("q");
  var found = document.getElementById("search-results");
  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text) node.textContent = text;
    if (className) node.className = className;
    return node;
  }
  function showHits(query, body) {
    found.textContent = "";
    var heading = element("h2", "Articles for ");
    heading.appendChild(element("q", query));
    found.appendChild(heading);
    if (!body.results.length) {
      found.appendChild(element("p", "No article has those words. Try other words, or paste the log lines themselves."));
      return;
    }
    var list = element("ol");
    body.results.forEach(function (hit) {
      var item = element("li");
      var link = element("a", "KB" + hit.article_id + ": " + hit.title);
      link.href = "/articles/" + encodeURIComponent(hit.article_id);
      item.appendChild(link);
      // The words found are between ** in the snippet: shown marked, never as markup.
      var snippet = element("p", "", "snippet");
      hit.snippet.split("**").forEach(function (part, index) {
        snippet.appendChild(index % 2 ? element("mark", part) : document.createTextNode(part));
      });
      item.appendChild(snippet);
      list.appendChild(item);
    });
    found.appendChild(list);
  }
  if (searchForm && searchBox && found && window.fetch) {
    searchForm.addEventListener("submit", function (event) {
      var query = searchBox.value.trim();
      if (!query) return;
      event.preventDefault();
      found.hidden = false;
      fetch("/v1/search?q=" + encodeURIComponent(query), { headers: { Accept: "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) {
            if (response.ok) {
              showHits(query, body);
            } else {
              found.textContent = "";
              found.appendChild(element("p", body.detail || "The search failed (" + response.status + ").", "error"));
            }
          });
        })
        .catch(function () {
          found.textContent = "";
          found.appendChild(element("p", "The search could not be sent: the service did not answer. Try again.", "error"));
        });
    });
  }

  // After an answer, take keyboard users straight to it.
  var results = document.getElementById("results");
  if (results) results.focus();
})();

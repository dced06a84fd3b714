// labelcheck upload forms: drag and drop, and upload progress through the JSON API.
// Without JavaScript the forms post normally; this file only improves them.
(function () {
  "use strict";

  function sizeText(bytes) {
    if (bytes >= 1048576) { return (bytes / 1048576).toFixed(1) + " MiB"; }
    return Math.max(1, Math.round(bytes / 1024)) + " KiB";
  }

  function listChosen(input, list) {
    list.textContent = "";
    Array.prototype.forEach.call(input.files, function (file) {
      var item = document.createElement("li");
      item.textContent = file.name + " (" + sizeText(file.size) + ")";
      list.appendChild(item);
    });
  }

  function setupDrop(form) {
    var zone = form.querySelector(".drop");
    var input = form.querySelector("input[type=file]");
    var list = form.querySelector(".chosen");
    if (!zone || !input) { return; }
    input.addEventListener("change", function () { listChosen(input, list); });
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.remove("over"); });
    });
    zone.addEventListener("drop", function (event) {
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        listChosen(input, list);
      }
    });
  }

  function errorMessage(xhr) {
    try { return JSON.parse(xhr.responseText).error.message; }
    catch (ignored) { return "The upload failed (HTTP " + xhr.status + "). Try again."; }
  }

  // The server refuses a request over its limit (413) once it has received it: say so before
  // sending it.
  function tooLarge(form) {
    var limit = Number(form.dataset.maxBytes), total = 0;
    if (!limit) { return false; }
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files, function (file) { total += file.size; });
    });
    return total > limit;
  }

  function setupUpload(form) {
    var box = form.querySelector(".progress");
    var bar = box && box.querySelector("progress");
    var status = form.querySelector(".form-status");
    var button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !form.dataset.api) { return; }
      event.preventDefault();
      if (tooLarge(form)) {
        status.textContent = "The upload is too large. The limit is " + form.dataset.maxText + ".";
        return;
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.dataset.api);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", function (progress) {
        if (progress.lengthComputable && bar) { bar.value = Math.round(100 * progress.loaded / progress.total); }
      });
      xhr.addEventListener("load", function () {
        if (xhr.status === 202) {
          status.textContent = "Uploaded. Opening the report…";
          window.location.assign(JSON.parse(xhr.responseText).links.page);
          return;
        }
        status.textContent = errorMessage(xhr);
        button.disabled = false;
        if (box) { box.hidden = true; }
      });
      xhr.addEventListener("error", function () {
        status.textContent = "The connection failed. Check your network and try again.";
        button.disabled = false;
      });
      status.textContent = "";
      if (box) { box.hidden = false; }
      button.disabled = true;
      xhr.send(new FormData(form));
    });
  }

  document.querySelectorAll("form.upload").forEach(function (form) {
    setupDrop(form);
    setupUpload(form);
  });
}());

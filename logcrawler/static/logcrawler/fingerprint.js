// A fingerprint's page: name the bucket under the pointer on the occurrence chart.
(function () {
  "use strict";

  var dataNode = document.getElementById("logcrawler-chart-data");
  var chart = document.getElementById("lc-chart");
  var tip = document.getElementById("lc-chart-tip");
  if (!dataNode || !chart || !tip) return;
  var data = JSON.parse(dataNode.textContent);
  var start = new Date(data.start).getTime();

  function label(index) {
    var at = new Date(start + index * data.step_seconds * 1000);
    var text = at.toISOString().slice(0, 16).replace("T", " ") + " UTC";
    return text + ": " + data.counts[index] + (data.counts[index] === 1 ? " occurrence" : " occurrences");
  }

  chart.addEventListener("mousemove", function (event) {
    var box = chart.getBoundingClientRect();
    var index = Math.floor(((event.clientX - box.left) / box.width) * data.counts.length);
    if (index < 0 || index >= data.counts.length) return;
    tip.textContent = label(index);
  });
  chart.addEventListener("mouseleave", function () {
    tip.textContent = "";
  });
})();

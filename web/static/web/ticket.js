// Order ticket: Esc goes back to the watch; the price and trigger fields are enabled only
// for the order types that use them.
"use strict";
(function () {
  const form = document.getElementById("ticket-form");
  if (!form) return;
  const type = form.querySelector("#id_order_type");
  const price = form.querySelector("#id_price");
  const trigger = form.querySelector("#id_trigger_price");
  function fit() {
    price.disabled = !(type.value === "LIMIT" || type.value === "SL");
    trigger.disabled = !(type.value === "SL" || type.value === "SL-M");
  }
  type.addEventListener("change", fit);
  fit();
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") window.location.assign(form.dataset.back);
  });
})();

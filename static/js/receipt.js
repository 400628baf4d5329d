/* The receipt's print view opened with ?print=1: open the print dialog once the page has loaded. */
window.addEventListener("load", function () { window.print(); });

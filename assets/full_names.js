/* Full names in a tooltip wherever CSS cuts a name short.
 *
 * Place names ("Olympic-ro, Jamsil-ro to Wiryeseong-daero") and alert titles are cut with an
 * ellipsis where their box is narrow. Every element whose computed style cuts text
 * (text-overflow: ellipsis, or a line clamp) and whose text does not fit gets its full text as
 * its title attribute, so hovering it shows the whole name. Elements that carry a title of
 * their own are left alone; a title set here follows the text when the text changes.
 * Checks run after DOM changes, at most once every CHECK_MS milliseconds.
 */
(function () {
  'use strict';

  var MARK = 'data-full-name';
  var CHECK_MS = 250;

  function cuts(style) {
    return style.textOverflow === 'ellipsis' ||
      (style.webkitLineClamp && style.webkitLineClamp !== 'none');
  }

  function isCut(element) {
    return element.scrollWidth > element.clientWidth + 1 ||
      element.scrollHeight > element.clientHeight + 1;
  }

  function label(element) {
    var own = element.hasAttribute('title') && !element.hasAttribute(MARK);
    if (own) return;
    var style = window.getComputedStyle(element);
    var text = (element.textContent || '').replace(/\s+/g, ' ').trim();
    if (cuts(style) && text && isCut(element)) {
      element.setAttribute('title', text);
      element.setAttribute(MARK, '1');
    } else if (element.hasAttribute(MARK)) {
      element.removeAttribute('title');
      element.removeAttribute(MARK);
    }
  }

  function scan() {
    var all = document.body ? document.body.getElementsByTagName('*') : [];
    for (var i = 0; i < all.length; i += 1) {
      if (all[i].childElementCount < 8) label(all[i]);
    }
  }

  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    window.setTimeout(function () {
      pending = false;
      scan();
    }, CHECK_MS);
  }

  function start() {
    new MutationObserver(schedule).observe(document.body, {
      childList: true, subtree: true, characterData: true
    });
    window.addEventListener('resize', schedule);
    schedule();
  }

  window.vtFullNames = {scan: scan};
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
})();

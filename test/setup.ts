import '../src/polyfill.js';

// Entry point of the web client: defines <baton-app> and, through it, every page's components.
import './components/baton-app.js';

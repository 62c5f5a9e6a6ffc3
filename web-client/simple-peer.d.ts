// The browser build imports simple-peer's prebuilt bundle (no Node polyfills needed); same API as the package.
declare module 'simple-peer/simplepeer.min.js' {
  import SimplePeer from 'simple-peer';
  export default SimplePeer;
}

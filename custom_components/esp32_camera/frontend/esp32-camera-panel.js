// placeholder customElements.define

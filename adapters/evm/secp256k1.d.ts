/** The native binding of the optional `secp256k1` peer (only what recoverTypedDataSigner uses). */
declare module 'secp256k1/bindings.js' {
  const binding: {
    ecdsaRecover(signature: Uint8Array, recid: number, message: Uint8Array, compressed: boolean): Uint8Array;
  };
  export default binding;
}

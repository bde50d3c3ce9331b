/**
 * Lets go of a response body we will not read, without waiting: cancelling a body whose response was
 * cloned (by a caller's fetch wrapper) only settles once every clone is read or cancelled, so awaiting it
 * could hang the request.
 *
 * @example discardBody(first); // the 402, once its challenge was read
 */
export function discardBody(response: Response): void {
  response.body?.cancel().catch(() => undefined);
}

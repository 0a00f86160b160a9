/**
 * The one error a patch document can cause (http.html#patch): 400 when the document itself is malformed, 422 when
 * it is well formed but cannot be applied to this resource. The interaction turns it into an OperationOutcome.
 */

/** Why a patch was refused, with the location inside the patch document that caused it. */
export class PatchError extends Error {
  /**
   * @param status - 400 for a malformed patch document; 422 for a patch that cannot be applied to this resource.
   * @param diagnostics - English sentence naming the operation (0-based index), its type and the path.
   * @param expression - Where in the patch document: a JSON pointer (`/2/path`) or a FHIRPath
   *   (`Parameters.parameter[1]`).
   */
  constructor(
    readonly status: 400 | 422,
    readonly diagnostics: string,
    readonly expression: string[],
  ) {
    super(diagnostics);
    this.name = 'PatchError';
  }
}

/** A refusal of the mock sandbox, answered as the real service's problem with this status and code. */
export class MockSandboxError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One short message at the bottom of the page. */
export interface Toast {
  id: number;
  message: string;
  severity: "success" | "info" | "error";
}

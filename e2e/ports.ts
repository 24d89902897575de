// Ports of the servers the e2e suite starts; away from `npm start`'s 7070/7071.
export const ports = {
  mockSandbox: 7171,
  mockBff: 7170,
  /** A mock sandbox of its own that a spec restarts with other Docker daemons, and its BFF. */
  modesSandbox: 7173,
  modesBff: 7172,
  /** Two mock sandboxes of a fleet, and their BFF. */
  fleetSandbox1: 7174,
  fleetSandbox2: 7175,
  fleetBff: 7176,
  realSandbox: 7181,
  realBff: 7180,
  /** A BFF whose sandbox is never there: the page as it looks while the sandbox is unreachable. */
  loneBff: 7190,
  nowhere: 7199,
} as const;

// Ports of the servers the e2e suite starts; away from `npm start`'s 7070/7071.
export const ports = {
  mockSandbox: 7171,
  mockBff: 7170,
  realSandbox: 7181,
  realBff: 7180,
} as const;

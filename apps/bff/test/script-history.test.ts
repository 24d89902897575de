// [History] of the startup script: every save that changes it is a version with who and when;
// saves that change something else are not; a restored version is saved as a new one.
import { expect, it } from "vitest";
import { script, useMockSandbox, useTestBff } from "./helpers.ts";

useMockSandbox();
const bff = useTestBff({ monitor: false });

it("keeps every saved script with who saved it and when, newest first", async () => {
  const created = await (
    await bff.request("POST", "/api/v1/projects", { name: "Shop", startup_script: script })
  ).json();
  const url = `/api/v1/projects/${created.id}`;
  const before = Date.now();
  expect((await bff.request("PATCH", url, { startup_script: "echo two" })).status).toBe(200);
  // Saving the same script again, or only the setting, makes no version.
  await bff.request("PATCH", url, { startup_script: "echo two" });
  await bff.request("PATCH", url, { metadata: { auto_warm_docker_cache: false } });
  const member = await bff.addUser("member");
  await bff.services.auth.addMember(created.id, "member");

  const res = await bff.requestAs(member, "GET", `${url}/startup-script/versions`);
  expect(res.status).toBe(200);
  const { versions } = await res.json();
  expect(versions.map((v: { startup_script: string }) => v.startup_script)).toEqual(["echo two", script]);
  expect(versions[0].saved_by).toEqual({ id: bff.owner.id, name: "owner" });
  expect(Date.parse(versions[0].saved_at)).toBeGreaterThanOrEqual(before - 1000);

  // Restoring is saving an earlier script again: it becomes the newest version.
  await bff.request("PATCH", url, { startup_script: versions[1].startup_script });
  const after = await (await bff.request("GET", `${url}/startup-script/versions`)).json();
  expect(after.versions.map((v: { startup_script: string }) => v.startup_script)).toEqual([script, "echo two", script]);
});

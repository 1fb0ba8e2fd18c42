"""Protocol conformance of the pitlab kernel, via Debian's python3-jupyter-kernel-test.

Run by scripts/test.js with JUPYTER_PATH pointing at a kernelspec installed into a temporary
prefix (`pitlab install --prefix DIR`), so the user's Jupyter configuration is never touched.
"""

import os
import signal
import time
import unittest

import jupyter_kernel_test


class PitlabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "pitlab"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "'pit' + 'lab'", "result": "'pitlab'"},
        {"code": "[1, 2].map((x) => x * 2)", "result": "[ 2, 4 ]"},
    ]
    code_display_data = [
        {"code": 'display(html`<b>x</b>`)', "mime": "text/html"},
        {"code": 'display(md`# title`)', "mime": "text/markdown"},
        {"code": 'display({ data: [{ x: [1, 2], y: [3, 4] }], layout: {} })',
         "mime": "application/vnd.plotly.v1+json"},
    ]
    completion_samples = [
        {"text": "Math.flo", "matches": ["floor"]},
        {"text": "const completeMe = 1; completeM", "matches": ["completeMe"]},
    ]
    complete_code_samples = ["1", "const a = 1;", "function f() {}"]
    incomplete_code_samples = ["function f() {", "const x = [1,"]
    code_inspect_sample = "Math.floor"
    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6 *"

    def test_pitlab_type_error(self):
        """A type error is an `error` message and an error reply, and the cell does not run."""
        self.flush_channels()
        reply, output = self.execute_helper('const s: string = 1; console.log("ran")')
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "TypeScriptError")
        self.assertIn("not assignable", reply["content"]["evalue"])
        self.assertEqual([m["msg_type"] for m in output], ["error"])

    def test_pitlab_runtime_error_fields(self):
        self.flush_channels()
        reply, output = self.execute_helper('throw new RangeError("out of range")')
        content = reply["content"]
        self.assertEqual((content["ename"], content["evalue"]), ("RangeError", "out of range"))
        self.assertEqual(output[0]["content"]["ename"], "RangeError")
        self.assertTrue(content["traceback"][0].startswith("RangeError: out of range"))

    def test_pitlab_kernel_info(self):
        self.flush_channels()
        msg_id = self.kc.kernel_info()
        info = self.kc.get_shell_msg(timeout=30)["content"]
        lang = info["language_info"]
        self.assertEqual(lang["name"], "typescript")
        for key in ("version", "mimetype", "file_extension", "pygments_lexer",
                    "codemirror_mode", "nbconvert_exporter"):
            self.assertIn(key, lang)
        self.assertTrue(msg_id)

    def test_pitlab_comm_info(self):
        self.flush_channels()
        msg_id = self.kc.comm_info()
        reply = self.get_non_kernel_info_reply(timeout=30)
        self.assertEqual(reply["msg_type"], "comm_info_reply")
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["content"], {"status": "ok", "comms": {}})

    def test_pitlab_runtime_import(self):
        """`import ... from 'pitlab'` type-checks and runs; the runtime is already initialised."""
        self.flush_channels()
        reply, output = self.execute_helper(
            "import { runtime } from 'pitlab';\nruntime.info().backend.length > 0", timeout=120)
        self.assertEqual(reply["content"]["status"], "ok", reply["content"])
        results = [m for m in output if m["msg_type"] == "execute_result"]
        self.assertEqual(results[0]["content"]["data"]["text/plain"], "true")

    def test_pitlab_interrupt_keeps_state(self):
        """SIGINT stops a busy loop; the kernel answers and earlier state survives."""
        self.flush_channels()
        self.execute_helper("const kept = 41")
        msg_id = self.kc.execute("while (true) {}")
        time.sleep(1.5)
        self.km.interrupt_kernel()
        reply = self.get_non_kernel_info_reply(timeout=30)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "KeyboardInterrupt")
        self.flush_channels()
        reply, output = self.execute_helper("kept + 1")
        results = [m for m in output if m["msg_type"] == "execute_result"]
        self.assertEqual(results[0]["content"]["data"]["text/plain"], "42")


if __name__ == "__main__":
    unittest.main()

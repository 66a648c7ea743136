package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.Pattern;
import attnc.pass.Passes;
import attnc.ptx.emit.Signature;
import attnc.run.Backend;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code export}: every PTX file assembles, and kernel.json describes the entry and arguments that the PTX really has. */
class PtxExportTest {

    @Test
    void exportedKernelsAssembleAndMatchTheirDescription() throws Exception {
        for (String source : List.of("mask: q >= kv", "input doc: int32[B, Nkv]\nparam w: int = 7\nmask: doc[b, q] == doc[b, kv] && q - kv < w")) {
            Pattern pattern = Passes.optimize(Frontend.compile("p", source), Map.of());
            Map<String, byte[]> files = Backend.named("ptx").orElseThrow().export(pattern);
            JsonObject kernel = JsonParser.parseString(new String(files.get("kernel.json"), StandardCharsets.UTF_8)).getAsJsonObject();
            String entry = kernel.get("entry").getAsString();
            List<String> arguments = new ArrayList<>();
            kernel.getAsJsonArray("arguments").forEach(a -> arguments.add(a.getAsJsonObject().get("name").getAsString()));
            assertEquals(Signature.of(pattern).declarations().stream().map(d -> d[1]).toList(), arguments);
            kernel.getAsJsonArray("arguments").forEach(a -> assertTrue(a.getAsJsonObject().has("meaning"), a.toString()));
            assertEquals(4, kernel.getAsJsonArray("variants").size(), "sm_80 and sm_90a, D = 64 and 128");
            for (var v : kernel.getAsJsonArray("variants")) {
                JsonObject variant = v.getAsJsonObject();
                String ptx = new String(files.get(variant.get("file").getAsString()), StandardCharsets.US_ASCII);
                String arch = variant.get("arch").getAsString();
                assertTrue(ptx.contains(".visible .entry " + entry + "("), "the described entry is in " + variant.get("file"));
                assertTrue(ptx.contains(".target " + arch + "\n"), "the variant names its target: " + arch);
                List<String> own = new ArrayList<>(arguments);
                if (variant.has("arguments")) {
                    own.clear();
                    variant.getAsJsonArray("arguments").forEach(a -> own.add(a.getAsJsonObject().get("name").getAsString()));
                    assertEquals(3, variant.getAsJsonArray("tensor_maps").size(), "q, k and v");
                }
                String header = ptx.substring(ptx.indexOf(".visible .entry " + entry), ptx.indexOf(")", ptx.indexOf(".visible .entry " + entry)));
                for (String a : own) assertTrue(header.contains(" " + a + ",") || header.contains(" " + a + "\n") || header.contains(" " + a + "[128]"), a + " in the entry's parameters");
                assertTrue(ptx.contains(variant.get("shared_bytes").getAsInt() + " bytes per block"));
                PtxAssemblesTest.assemble(ptx, arch.startsWith("sm_90") ? 90 : 80);
            }
            boolean classifies = kernel.getAsJsonObject("tile_list").get("builder").getAsString().equals("classifier");
            assertTrue(classifies, "both masks hide elements, so the lists need the classifier");
            backwardMatchesItsDescription(kernel.getAsJsonObject("backward"), files);
        }
    }

    @Test
    void architectureNamesAreTheTwoExportedOnesAndNothingElse() {
        assertEquals(List.of(80, 90), PtxExport.architectures(List.of("sm_90a", "SM_80", "sm_90")));
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> PtxExport.architectures(List.of("sm_86")));
        assertEquals("unknown architecture 'sm_86'; expected sm_80 or sm_90a (or both, comma-separated)", e.getMessage());
    }

    private static List<String> described(com.google.gson.JsonArray arguments) {
        List<String> names = new ArrayList<>();
        arguments.forEach(a -> names.add(a.getAsJsonObject().get("name").getAsString()));
        return names;
    }

    /** Every backward variant holds every described entry, with the described parameters in order, and assembles for its arch. */
    private static void backwardMatchesItsDescription(JsonObject backward, Map<String, byte[]> files) throws Exception {
        JsonObject entries = backward.getAsJsonObject("entries");
        assertTrue(entries.has("main") && entries.has("delta") && entries.has("classify"), "softmax and a mask: delta, classify and main; got " + entries.keySet());
        assertEquals(6, backward.getAsJsonArray("variants").size(), "sm_80 and sm_90 (mma.sync), D = 64 and 128, and sm_90a's wgmma kernel at D = 64 and 128");
        for (var v : backward.getAsJsonArray("variants")) {
            JsonObject variant = v.getAsJsonObject();
            String ptx = new String(files.get(variant.get("file").getAsString()), StandardCharsets.US_ASCII);
            String arch = variant.get("arch").getAsString();
            assertTrue(ptx.contains(".target " + arch + "\n"), "the variant names its target: " + arch);
            assertTrue(ptx.contains(variant.get("shared_bytes").getAsInt() + " bytes per block"));
            for (String name : entries.keySet()) {
                JsonObject e = entries.getAsJsonObject(name);
                String entry = e.get("entry").getAsString();
                int start = ptx.indexOf(".visible .entry " + entry + "(");
                assertTrue(start >= 0, entry + " in " + variant.get("file"));
                String header = ptx.substring(start, ptx.indexOf(")", start));
                List<String> declared = new ArrayList<>();
                for (String line : header.lines().toList()) if (line.contains(".param")) declared.add(line.replaceAll(".* (p_\\w+).*", "$1"));
                // The wgmma variant's main and classify entries take its own arguments (with the tensor maps).
                var arguments = variant.has("arguments") && List.of("main", "classify").contains(name) ? variant.getAsJsonArray("arguments") : e.getAsJsonArray("arguments");
                List<String> described = new ArrayList<>();
                arguments.forEach(a -> described.add(a.getAsJsonObject().get("name").getAsString()));
                assertEquals(declared, described, entry + "'s parameters in " + variant.get("file") + ", in order");
                arguments.forEach(a -> assertTrue(a.getAsJsonObject().has("meaning") && !a.getAsJsonObject().get("meaning").isJsonNull(), a.toString()));
            }
            if (arch.equals("sm_90a")) {
                List<String> maps = new ArrayList<>();
                variant.getAsJsonArray("tensor_maps").forEach(m -> maps.add(m.getAsJsonObject().get("argument").getAsString()));
                assertEquals(List.of("p_tmap_q", "p_tmap_k", "p_tmap_v", "p_tmap_dout", "p_tmap_dq"), maps);
                assertTrue(described(variant.getAsJsonArray("arguments")).containsAll(maps), "every tensor map is an argument");
            }
            PtxAssemblesTest.assemble(ptx, arch.startsWith("sm_90") ? 90 : 80);
        }
    }
}

package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Signature;
import attnc.run.Backend;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code export}'s ragged section: for sm_80 and sm_90a at D = 64 and 128, the module {@link
 * KernelConfig#ofRagged} picks (wgmma where it takes the pattern, with no tensor maps), its entry's
 * and classifier's parameters as the PTX declares them, in order, each with a meaning; the ABI's
 * fields; every module assembled by ptxas; and a pattern the ragged kernel refuses named with the
 * reason instead of modules.
 */
class RaggedExportTest {
    /** Examples by what their lists need: per batch (document's ids), per head (alibi reads h only in the score: no), per-sequence inputs. */
    private static final List<String> EXAMPLES = List.of("causal", "dense", "document", "alibi", "gated", "softmax_sink");

    @Test
    void everyArchitectureAndHeadDimHasItsModuleDescribedAndAssembled() throws Exception {
        Map<Integer, List<String>> toAssemble = new HashMap<>(Map.of(80, new ArrayList<>(), 90, new ArrayList<>()));
        for (String name : EXAMPLES) {
            Pattern pattern = example(name);
            LoweredPattern lowered = LowerPattern.lower(pattern);
            Map<String, byte[]> files = Backend.named("ptx").orElseThrow().export(pattern);
            JsonObject kernel = JsonParser.parseString(new String(files.get(PtxExport.DESCRIPTION), StandardCharsets.UTF_8)).getAsJsonObject();
            JsonObject ragged = kernel.getAsJsonObject("ragged");
            assertEquals(Set.of("about", "dtype", "output_dtype", "head_dims", "writes_lse", "order", "variants", "tensor_maps", "entry", "queries",
                    "paged", "per_sequence_inputs", "input_views", "input_offsets", "work_list", "tile_list", "output", "limits"), ragged.keySet(), name);
            assertEquals(lowered.writesLse(), ragged.get("writes_lse").getAsBoolean(), name);
            assertEquals("float32", ragged.get("output_dtype").getAsString());
            assertEquals(Signature.raggedInputs(pattern), ragged.getAsJsonArray("per_sequence_inputs").asList().stream().map(JsonElement::getAsString).toList(), name);
            assertEquals(List.of("entries", "1", "1"), strings(ragged.getAsJsonObject("entry"), "grid"));
            assertEquals(List.of("entries", "4"), strings(ragged.getAsJsonObject("work_list"), "shape"));
            assertEquals(List.of("B", "len(per_sequence_inputs)"), strings(ragged.getAsJsonObject("input_offsets"), "shape"));
            assertEquals("int64", ragged.getAsJsonObject("input_offsets").get("dtype").getAsString());
            JsonObject lists = ragged.getAsJsonObject("tile_list");
            assertEquals(lowered.visibilityDependsOn(attnc.ir.Index.B), lists.get("per_batch").getAsBoolean(), name);
            assertEquals(lowered.visibilityDependsOn(attnc.ir.Index.H), lists.get("per_head").getAsBoolean(), name);
            assertEquals(PtxModule.FULL_BIT, lists.get("full_bit").getAsInt());
            boolean classifies = lists.get("builder").getAsString().equals("classifier");
            assertEquals(!lowered.alwaysVisible(), classifies, name + ": the classifier builds the lists exactly where the mask hides anything");
            assertEquals(classifies, lists.has("classifier"), name);

            List<String> described = names(ragged.getAsJsonObject("entry"));
            ragged.getAsJsonObject("entry").getAsJsonArray("arguments").forEach(a -> assertTrue(
                    a.getAsJsonObject().has("meaning") && !a.getAsJsonObject().get("meaning").getAsString().isBlank(), name + ": " + a));
            assertEquals(4, ragged.getAsJsonArray("variants").size(), name + ": sm_80 and sm_90, D = 64 and 128");
            for (JsonElement v : ragged.getAsJsonArray("variants")) {
                JsonObject variant = v.getAsJsonObject();
                String file = variant.get("file").getAsString(), arch = variant.get("arch").getAsString();
                int sm = arch.startsWith("sm_90") ? 90 : 80, d = variant.get("head_dim").getAsInt();
                KernelConfig config = KernelConfig.ofRagged(lowered, sm, DType.BFLOAT16, d, d);
                assertEquals(RaggedExport.fileName(pattern, config), file);
                assertEquals(config.schedule().wgmma(), arch.equals("sm_90a"), file + ": sm_90a exactly for the wgmma kernel");
                assertEquals(config.schedule().name().toLowerCase(java.util.Locale.ROOT), variant.get("schedule").getAsString(), file);
                assertEquals(config.blockM(), variant.get("block_m").getAsInt(), file);
                assertEquals(config.blockN(), variant.get("block_n").getAsInt(), file);
                assertEquals(config.threads(), variant.get("threads").getAsInt(), file);
                assertEquals(config.sharedBytes(), variant.get("shared_bytes").getAsInt(), file);
                String ptx = new String(files.get(file), StandardCharsets.US_ASCII);
                assertTrue(ptx.contains(".target " + arch + "\n"), file + " names its target " + arch);
                assertTrue(ptx.contains(config.sharedBytes() + " bytes per block"), file);
                assertFalse(ptx.contains("p_tmap"), file + ": no tensor maps");
                assertEquals(names(Signature.of(pattern, config)), described, file + ": the described arguments are the signature's");
                assertEquals(DecodeExportTest.declared(ptx, PtxModule.ATTENTION_ENTRY), described, file + ": as the PTX declares them, in order");
                assertEquals(classifies ? described : List.of(), DecodeExportTest.declared(ptx, PtxModule.CLASSIFY_ENTRY),
                        file + ": the classifier the tile list names, taking the entry's arguments");
                toAssemble.get(sm).add(ptx);
            }
        }
        assertTrue(toAssemble.get(90).stream().anyMatch(t -> t.contains(".target sm_90a")), "causal at D = 64 and 128 runs the wgmma ragged kernel");
        PtxAssemblesTest.assembleAll(toAssemble.get(80), 80);
        PtxAssemblesTest.assembleAll(toAssemble.get(90), 90);
    }

    @Test
    void aPatternTheRaggedKernelRefusesGetsTheReasonAndNoModule() throws Exception {
        // 192 query rows need three wgmma consumer warpgroups; the ragged kernel runs a tile: section on mma.sync only.
        Pattern pattern = Passes.optimize(Frontend.compile("wide", "mask: q >= kv\ntile: q = 192, kv = 64\n"), Map.of());
        Map<String, byte[]> files = new HashMap<>();
        JsonElement ragged = RaggedExport.describe(LowerPattern.lower(pattern), List.of(90), files);
        assertTrue(ragged.isJsonPrimitive(), ragged.toString());
        assertEquals("unsupported: the ragged prefill kernel refuses this pattern (sm_90, D = 64: tile q = 192 needs the wgmma path (sm_90); mma.sync"
                + " takes q = 64, 128 or 256; sm_90, D = 128: tile q = 192 needs the wgmma path (sm_90); mma.sync takes q = 64, 128 or 256)", ragged.getAsString());
        assertTrue(files.isEmpty(), "no module written: " + files.keySet());
    }

    @Test
    void fileNamesNameTheArchitectureAndHeadDim() throws Exception {
        Pattern causal = example("causal");
        LoweredPattern lowered = LowerPattern.lower(causal);
        assertEquals("causal_ragged.ptx", RaggedExport.fileName(causal, KernelConfig.ofRagged(lowered, 80, DType.BFLOAT16, 64, 64)));
        assertEquals("causal_ragged_sm_90a_d128.ptx", RaggedExport.fileName(causal, KernelConfig.ofRagged(lowered, 90, DType.BFLOAT16, 128, 128)));
        Pattern document = example("document");
        assertEquals("document_ragged_sm_90.ptx", RaggedExport.fileName(document, KernelConfig.ofRagged(LowerPattern.lower(document), 90, DType.BFLOAT16, 64, 64)),
                "document at D = 64 runs mma.sync on sm_90 too");
    }

    private static Pattern example(String name) throws Exception {
        return Passes.optimize(Patterns.compile(Path.of("../../examples/" + name + ".attn")), Map.of());
    }

    private static List<String> strings(JsonObject object, String key) {
        return object.getAsJsonArray(key).asList().stream().map(JsonElement::getAsString).toList();
    }

    private static List<String> names(JsonObject entry) {
        return entry.getAsJsonArray("arguments").asList().stream().map(a -> a.getAsJsonObject().get("name").getAsString()).toList();
    }

    private static List<String> names(Signature signature) {
        return signature.declarations().stream().map(d -> d[1]).toList();
    }
}

package attnc.ptx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.ir.Pattern;
import attnc.lower.LowerPattern;
import attnc.lower.LoweredPattern;
import attnc.pass.Passes;
import attnc.ptx.emit.Decode;
import attnc.ptx.emit.KernelConfig;
import attnc.ptx.emit.PtxModule;
import attnc.ptx.emit.Signature;
import attnc.run.Backend;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * {@code export}'s decode section: the modules of every mode a pattern decodes in (packed only
 * where no per-block program reads h, paged only where {@link PagedDecode} takes the pattern),
 * each entry described with the parameters its PTX declares, in order, every one with a meaning,
 * and every written module assembled by ptxas for its target.
 */
class DecodeExportTest {

    /** Examples and the modes each decodes in, by what they read: alibi's score reads h; document's ids and gated's gate are sized by Nkv and Nq. */
    private static final Map<String, List<String>> MODES = new LinkedHashMap<>();

    static {
        MODES.put("causal", List.of("split", "split_packed", "split_paged", "split_packed_paged"));
        MODES.put("alibi", List.of("split", "split_paged"));
        MODES.put("softmax_sink", List.of("split", "split_packed", "split_paged", "split_packed_paged"));
        MODES.put("document", List.of("split", "split_packed"));
        MODES.put("gated", List.of("split", "split_packed"));
    }

    @Test
    void everyModeThePatternDecodesInIsWrittenDescribedAndAssembles() throws Exception {
        Map<Integer, List<String>> toAssemble = new HashMap<>(Map.of(80, new ArrayList<>(), 90, new ArrayList<>()));
        for (var expected : MODES.entrySet()) {
            Pattern pattern = example(expected.getKey());
            Map<String, byte[]> files = Backend.named("ptx").orElseThrow().export(pattern);
            JsonObject kernel = JsonParser.parseString(new String(files.get("kernel.json"), StandardCharsets.UTF_8)).getAsJsonObject();
            JsonObject decode = kernel.getAsJsonObject("decode");
            String name = expected.getKey();
            JsonObject entries = decode.getAsJsonObject("entries");
            List<String> modes = new ArrayList<>(entries.keySet());
            assertEquals("merge", modes.removeLast(), name);
            assertEquals(expected.getValue(), modes, name + "'s decode modes");
            assertEquals(modes.size() * 2 * 2 * 2, decode.getAsJsonArray("variants").size(),
                    name + ": every mode for sm_80 and sm_90, D = 64 and 128, the warps sharing rows and not");

            LoweredPattern lowered = LowerPattern.lower(pattern);
            for (JsonElement v : decode.getAsJsonArray("variants")) {
                JsonObject variant = v.getAsJsonObject();
                String file = variant.get("file").getAsString(), arch = variant.get("arch").getAsString(), mode = variant.get("mode").getAsString();
                String ptx = new String(files.get(file), StandardCharsets.US_ASCII);
                assertTrue(ptx.contains(".target " + arch + "\n"), file + " names its target " + arch);
                assertTrue(ptx.contains(variant.get("shared_bytes").getAsInt() + " bytes per block"), file);
                KernelConfig config = KernelConfig.of(Integer.parseInt(arch.substring(3)), DType.BFLOAT16, variant.get("head_dim").getAsInt(),
                        variant.get("value_dim").getAsInt()).forDecode(Decode.SPLIT).withWarpKeys(variant.get("warp_keys").getAsBoolean())
                        .forDecode(Decode.valueOf(mode.toUpperCase(java.util.Locale.ROOT)));
                assertEquals(config.sharedBytes(), variant.get("shared_bytes").getAsInt(), file);
                assertEquals(config.blockM(), variant.get("block_m").getAsInt(), file);
                assertEquals(config.blockN(), variant.get("block_n").getAsInt(), file);
                assertEquals(config.threads(), variant.get("threads").getAsInt(), file);
                JsonObject entry = entries.getAsJsonObject(mode);
                assertEquals(names(Signature.of(pattern, config)), described(entry), file + ": the decode entry's arguments are its signature's");
                assertEquals(declared(ptx, entry.get("entry").getAsString()), described(entry), file + ": as the PTX declares them, in order");
                JsonObject merge = entries.getAsJsonObject("merge");
                assertEquals(names(PtxModule.mergeSignature(lowered)), described(merge), file + ": the merge's arguments are its signature's");
                assertEquals(declared(ptx, merge.get("entry").getAsString()), described(merge), file + ": as the PTX declares them, in order");
                boolean classifies = decode.getAsJsonObject("tile_list").get("builder").getAsString().equals("classifier");
                assertEquals(classifies ? described(entry) : List.of(), declared(ptx, PtxModule.CLASSIFY_ENTRY),
                        file + ": the classifier the tile list names, taking the decode entry's arguments");
                toAssemble.get(arch.equals("sm_80") ? 80 : 90).add(ptx);
            }
            for (var entry : entries.entrySet()) {
                entry.getValue().getAsJsonObject().getAsJsonArray("arguments").forEach(a -> assertMeaning(name + " " + entry.getKey(), a));
            }

            assertEquals(modes.contains("split_packed"), decode.get("packed").isJsonObject(), name);
            if (!decode.get("packed").isJsonObject()) assertEquals("unsupported: the score reads h, and a packed block holds the rows of several heads",
                    decode.get("packed").getAsString(), name);
            assertEquals(modes.contains("split_paged"), decode.get("paged").isJsonObject(), name);
            assertEquals(modes.contains("split_paged"), decode.getAsJsonObject("tile_list").has("paged"), name + ": paged lists are described where paged decoding is");
            if (!decode.get("paged").isJsonObject()) {
                String refusal = decode.get("paged").getAsString();
                assertTrue(refusal.startsWith("unsupported: ") && refusal.contains("input '" + (name.equals("document") ? "doc" : "gate") + "'"), refusal);
            }
            Set<String> described = new TreeSet<>();
            List<JsonObject> sections = new java.util.ArrayList<>(List.of(kernel, kernel.getAsJsonObject("backward"), decode, kernel.getAsJsonObject("ragged")));
            if (kernel.has("backward_operands")) sections.add(kernel.getAsJsonObject("backward_operands"));
            for (JsonObject section : sections) {
                section.getAsJsonArray("variants").forEach(v -> assertTrue(described.add(v.getAsJsonObject().get("file").getAsString()), "one file per variant: " + v));
            }
            Set<String> written = new TreeSet<>(files.keySet());
            written.remove(PtxExport.DESCRIPTION);
            assertEquals(described, written, name + ": every module written is described, and no name is written twice");
        }
        PtxAssemblesTest.assembleAll(toAssemble.get(80), 80);
        PtxAssemblesTest.assembleAll(toAssemble.get(90), 90);
    }

    @Test
    void everyExampleDescribesEveryDecodeArgumentWithItsSignaturesNamesAndAMeaning() {
        for (Path file : Patterns.files()) {
            Pattern pattern = Patterns.compile(file);
            if (pattern == null) continue;
            LoweredPattern lowered = LowerPattern.lower(Passes.optimize(pattern, Map.of()));
            JsonObject decode = DecodeExport.describe(lowered, List.of(80), new HashMap<>());
            JsonObject entries = decode.getAsJsonObject("entries");
            for (Decode mode : DecodeExport.modes(lowered)) {
                JsonObject entry = entries.getAsJsonObject(DecodeExport.modeName(mode));
                assertNotNull(entry, file + " " + mode);
                assertEquals(names(Signature.of(lowered.pattern(), KernelConfig.of(80, DType.BFLOAT16, 64, 64).forDecode(mode))), described(entry), file + " " + mode);
                entry.getAsJsonArray("arguments").forEach(a -> assertMeaning(file + " " + mode, a));
            }
            assertEquals(names(PtxModule.mergeSignature(lowered)), described(entries.getAsJsonObject("merge")), file.toString());
            entries.getAsJsonObject("merge").getAsJsonArray("arguments").forEach(a -> assertMeaning(file + " merge", a));
            assertEquals(GpuDecode.packable(lowered), decode.get("packed").isJsonObject(), file.toString());
            assertEquals(PagedDecode.patternRefusal(lowered.pattern()) == null, decode.get("paged").isJsonObject(), file.toString());
        }
    }

    @Test
    void listsOfAPatternThatSeesEverythingAreBuiltOnTheHostAndPagedOnesPerSequence() throws Exception {
        LoweredPattern dense = LowerPattern.lower(example("dense"));
        JsonObject lists = DecodeExport.describe(dense, List.of(80), new HashMap<>()).getAsJsonObject("tile_list");
        assertTrue(lists.get("builder").getAsString().startsWith("host"), lists.toString());
        assertTrue(lists.getAsJsonObject("paged").get("builder").getAsString().contains("ceil(kv_lengths[b] / block_n)"), lists.toString());
        LoweredPattern causal = LowerPattern.lower(example("causal"));
        JsonObject masked = DecodeExport.describe(causal, List.of(80), new HashMap<>()).getAsJsonObject("tile_list");
        assertEquals("classifier", masked.get("builder").getAsString());
        assertTrue(masked.getAsJsonObject("paged").get("builder").getAsString().contains("p_Nkv = kv_lengths[b]"), masked.toString());
    }

    @Test
    void fileNamesNameTheModeArchitectureAndHeadDim() throws Exception {
        Pattern causal = example("causal");
        assertEquals("causal_decode.ptx", DecodeExport.fileName(causal, KernelConfig.of(80, DType.BFLOAT16, 64, 64).forDecode(Decode.SPLIT)));
        assertEquals("causal_decode_packed_paged_sm_90_d128.ptx",
                DecodeExport.fileName(causal, KernelConfig.of(90, DType.BFLOAT16, 128, 128).forDecode(Decode.SPLIT_PACKED_PAGED)));
        assertEquals("causal_decode_paged_d128.ptx", DecodeExport.fileName(causal, KernelConfig.of(80, DType.BFLOAT16, 128, 128).forDecode(Decode.SPLIT_PAGED)));
    }

    private static Pattern example(String name) throws Exception {
        return Passes.optimize(Patterns.compile(Path.of("../../examples/" + name + ".attn")), Map.of());
    }

    private static void assertMeaning(String where, JsonElement argument) {
        JsonObject a = argument.getAsJsonObject();
        assertTrue(a.has("meaning") && !a.get("meaning").isJsonNull() && !a.get("meaning").getAsString().isBlank(), where + ": " + a);
    }

    private static List<String> names(Signature signature) {
        return signature.declarations().stream().map(d -> d[1]).toList();
    }

    private static List<String> described(JsonObject entry) {
        List<String> names = new ArrayList<>();
        JsonArray arguments = entry.getAsJsonArray("arguments");
        arguments.forEach(a -> names.add(a.getAsJsonObject().get("name").getAsString()));
        return names;
    }

    /** The parameter names of {@code entry} in {@code ptx}, in order; empty when the entry is absent. */
    static List<String> declared(String ptx, String entry) {
        int start = ptx.indexOf(".visible .entry " + entry + "(");
        if (start < 0) return List.of();
        List<String> names = new ArrayList<>();
        for (String line : ptx.substring(start, ptx.indexOf(")", start)).lines().toList()) {
            if (line.contains(".param")) names.add(line.replaceAll(".* (p_\\w+).*", "$1"));
        }
        return names;
    }
}

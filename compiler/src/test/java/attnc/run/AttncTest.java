package attnc.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** This module's tests have only the reference backend on their class path: what a user who forgot a backend artifact sees. */
class AttncTest {

    @Test
    void aMissingBackendNamesTheArtifactToAdd() {
        var e = assertThrows(IllegalArgumentException.class, () -> Attnc.compile("t.attn", "mask: q >= kv\n", "jvm", Map.of()));
        assertEquals("unknown backend 'jvm': its artifact is not on the class path; add the dependency dev.attnc:attnc-backend-jvm"
                + " (the version of attnc-compiler, or import dev.attnc:attnc-bom); backends on the class path: reference", e.getMessage());
    }

    @Test
    void anUnknownNameListsEveryBackendWithItsArtifact() {
        var e = assertThrows(IllegalArgumentException.class, () -> Attnc.compile("t.attn", "mask: q >= kv\n", "cuda", Map.of()));
        assertEquals("unknown backend 'cuda'; expected one of jvm (dev.attnc:attnc-backend-jvm), ptx (dev.attnc:attnc-backend-ptx),"
                + " reference (dev.attnc:attnc-compiler); backends on the class path: reference", e.getMessage());
    }

    @Test
    void generatedWrappersLoadingAMissingBackendGetTheSameMessage() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> Attnc.loadPrecompiled(AttncTest.class, "t", "mask: q >= kv\n", "jvm", List.of("kernel.json")));
        assertEquals(Attnc.unknownBackend("jvm").getMessage(), e.getMessage());
    }
}

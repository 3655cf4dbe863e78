package org.vigil

import java.io.File
import java.nio.file.Files
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import org.junit.jupiter.api.io.TempDir

/** The flow of the Android shell, through the generated Kotlin bindings and the real library. */
class VaultTest {
    @TempDir lateinit var dir: File

    private val fast = KeyStretching(memoryMib = 8u, iterations = 1u)
    private val passphrase = "correct horse battery staple"

    private fun detention(city: String = "Almaty", status: String = "draft") = mapOf(
        "phase" to "election_day",
        "category" to "arbitrary_detention",
        "occurred_at" to "2021-01-10T14:30:00+06:00",
        "region" to "Almaty",
        "city" to city,
        "people_count" to "12",
        "count_is_lower_bound" to "true",
        "affected_role" to "protester",
        "persons" to "Aibek Sadykov (protester); Aidar Omarov",
        "held_hours" to "6",
        "status" to status,
    )

    private class Recorder : VaultListener {
        val changes = CopyOnWriteArrayList<VaultChange>()
        val heard = CountDownLatch(1)
        override fun vaultChanged(change: VaultChange) {
            changes.add(change)
            heard.countDown()
        }
    }

    @Test
    fun `a vault keeps its incidents across a restart`() = runBlocking<Unit> {
        val path = File(dir, "vault").path
        val id = createVault(path, passphrase, fast).use { vault ->
            val id = vault.addIncident(detention())
            assertTrue(vault.setStatus(id, IncidentStatus.SUBMITTED))
            assertTrue(vault.editIncident(id, mapOf("city" to "Astana")))
            id
        }
        openVault(path, passphrase).use { vault ->
            val listed = vault.listIncidents(IncidentFilter())
            assertEquals(listOf(id), listed.map { it.id })
            assertEquals(IncidentStatus.SUBMITTED, listed[0].status)
            assertEquals("Astana", vault.getIncident(id.take(8)).fields["city"])
            // Submitted, then edited: the draft before it never left the device.
            assertEquals(2, vault.history(id).size)
            assertEquals(PersonalData.READABLE, vault.getIncident(id).personal)
            val row = vault.report(emptyList(), "en").rows.single()
            assertEquals(12uL, row.people)
            assertTrue(row.peopleIsLowerBound)
            assertEquals(2uL, row.namedPeople)
        }
    }

    @Test
    fun `errors are typed and name the field`() = runBlocking<Unit> {
        createVault(File(dir, "vault").path, passphrase, fast).use { vault ->
            val bad = detention() + ("held_hours" to "six")
            val error = assertThrows<VigilException.InvalidInput> { vault.addIncident(bad) }
            assertEquals("held_hours", error.field)
            assertFalse(error.message.orEmpty().contains("Sadykov"))
            assertThrows<VigilException.NotFound> { vault.getIncident("0123abcd") }
            assertEquals(0uL, vault.info().incidents)
        }
        assertThrows<VigilException.WrongPassphrase> {
            runBlocking { openVault(File(dir, "vault").path, "wrong") }
        }
    }

    @Test
    fun `the taxonomy draws the form`() = runBlocking<Unit> {
        createVault(File(dir, "vault").path, passphrase, fast).use { vault ->
            val form = vault.taxonomy("ru")
            val detention = form.categories.first { it.id == "arbitrary_detention" }
            assertEquals("Произвольное задержание", detention.label)
            assertEquals(FieldKind.INTEGER, detention.fields.first { it.id == "held_hours" }.kind)
        }
    }

    @Test
    fun `listeners hear of local and peer changes`() = runBlocking<Unit> {
        val hq = createVault(File(dir, "hq").path, passphrase, fast)
        val field = createVault(File(dir, "field").path, passphrase, fast)
        hq.createTeam("hq")
        val recorder = Recorder()
        hq.addListener(recorder)
        val address = hq.startServing("127.0.0.1:0")
        field.joinTeam(hq.createInvite(TeamRole.OBSERVER, 1u, listOf(address)), "almaty-1")
        recorder.changes.clear()

        val id = field.addIncident(detention(status = "submitted"))
        val sent = field.syncWith(address)
        assertEquals(0uL, sent.refused)
        assertTrue(recorder.heard.await(5, TimeUnit.SECONDS))
        assertTrue(recorder.changes.any { it.source == ChangeSource.PEER && it.incidents >= 1uL })
        assertEquals(listOf(id), hq.listIncidents(IncidentFilter()).map { it.id })
        // The names went sealed to the coordinator: the field device cannot read them.
        assertEquals(PersonalData.SEALED, field.getIncident(id).personal)
        assertTrue(field.listIncidents(IncidentFilter()).all { it.sealed })
        val onHq = hq.getIncident(id)
        assertEquals(PersonalData.READABLE, onHq.personal)
        assertEquals("Aibek Sadykov (protester); Aidar Omarov", onHq.fields["persons"])

        hq.stopServing()
        hq.close()
        field.close()
    }

    @Test
    fun `the recovery code appoints a coordinator when all are seized`() = runBlocking<Unit> {
        val hq = createVault(File(dir, "hq").path, passphrase, fast)
        val field = createVault(File(dir, "field").path, passphrase, fast)
        val code = hq.createTeam("hq")
        assertTrue(code.startsWith("VIGILR1-"))
        val address = hq.startServing("127.0.0.1:0")
        field.joinTeam(hq.createInvite(TeamRole.OBSERVER, 1u, listOf(address)), "almaty-1")
        hq.stopServing()
        val own = field.info().device
        assertThrows<VigilException.NotAllowed> { field.recoverTeam("VIGILR1-AAAAA", listOf(own)) }
        assertEquals(listOf(own), field.recoverTeam(code, listOf(own)).map { it.fingerprint })
        assertTrue(field.members().first { it.label == "hq" }.revoked)
        assertEquals(TeamRole.COORDINATOR, field.members().first { it.label == "almaty-1" }.role)
        hq.close()
        field.close()
    }

    @Test
    fun `a panic in Rust is an exception, not a crash`() = runBlocking<Unit> {
        assertThrows<InternalException> { debugPanic() }
        assertThrows<VigilException.Internal> { runBlocking { debugPanicInBackground() } }
        assertTrue(vigilVersion().isNotEmpty())
    }

    @Test
    fun `duress and panic leave a vault that opens empty`() = runBlocking<Unit> {
        val path = File(dir, "vault").path
        createVault(path, passphrase, fast).use { vault ->
            vault.addIncident(detention())
            vault.setDuressPassphrase(passphrase, "forced words")
        }
        openVault(path, "forced words").use { assertEquals(0uL, it.info().incidents) }
        assertThrows<VigilException.WrongPassphrase> { runBlocking { openVault(path, passphrase) } }

        val other = File(dir, "other").path
        createVault(other, passphrase, fast).use { vault ->
            vault.addIncident(detention())
            vault.panic()
            assertThrows<VigilException.Storage> { vault.listIncidents(IncidentFilter()) }
        }
        openVault(other, passphrase).use { assertEquals(0uL, it.info().incidents) }
    }

    @Test
    fun `files in and out`() = runBlocking<Unit> {
        createVault(File(dir, "vault").path, passphrase, fast).use { vault ->
            repeat(3) { vault.addIncident(detention(status = "submitted")) }
            val csv = File(dir, "out.csv")
            val exported = vault.exportFile(csv.path, FileFormat.CSV, emptyList())
            assertEquals(3uL, exported.incidents)
            assertEquals(6uL, exported.namedPeople)
            val perms = Files.getPosixFilePermissions(csv.toPath()).map { it.toString() }.toSet()
            assertEquals(setOf("OWNER_READ", "OWNER_WRITE"), perms)

            createVault(File(dir, "other").path, passphrase, fast).use { other ->
                val imported = other.importFile(csv.path, false)
                assertEquals(3uL, imported.added)
                assertEquals(vault.reportJson(emptyList()), other.reportJson(emptyList()))
            }
        }
    }
}

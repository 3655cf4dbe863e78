package org.vigil.example

import java.io.File
import java.nio.file.Files
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.vigil.IncidentStatus
import org.vigil.TeamRole
import org.vigil.createVault

/**
 * An observer's phone and the coordinator's laptop, on the JVM: the observer logs
 * incidents through [IncidentListViewModel] (one with a mistake the form is told
 * about, one kept as a draft), joins the coordinator's team with an invitation and
 * syncs to it over QUIC on 127.0.0.1; the coordinator's screen refreshes when they
 * arrive. Submitted incidents travel with their names sealed to the coordinator.
 *
 * Usage: Main VAULT. The observer's vault is made at VAULT (which must not exist) and
 * kept, so that other tools can read it; the coordinator's lives in a temporary folder.
 * The passphrase comes from VIGIL_PASSPHRASE.
 */
fun main(args: Array<String>): Unit = runBlocking {
    val path = args.singleOrNull() ?: error("usage: Main VAULT")
    val passphrase = System.getenv("VIGIL_PASSPHRASE") ?: error("set VIGIL_PASSPHRASE")

    val hqDir = Files.createTempDirectory("vigil-hq").toFile()
    val hq = createVault(File(hqDir, "vault").path, passphrase)
    hq.createTeam("hq")
    val address = hq.startServing("127.0.0.1:0")
    val hqScreen = IncidentListViewModel(hq, this, "en")

    val phone = createVault(path, passphrase)
    phone.joinTeam(hq.createInvite(TeamRole.OBSERVER, 1u, listOf(address)), "almaty-7")
    val screen = IncidentListViewModel(phone, this, "ru")
    println("Form in Russian: ${screen.form.categories.size} categories, e.g. " +
        screen.form.categories.first { it.id == "arbitrary_detention" }.label)

    val detention = mapOf(
        "phase" to "election_day", "category" to "arbitrary_detention",
        "occurred_at" to "2021-01-10T14:30:00+06:00", "region" to "Almaty", "city" to "Almaty",
        "people_count" to "14", "count_is_lower_bound" to "true", "affected_role" to "protester",
        "persons" to "Aibek Sadykov; Aidar Omarov", "held_hours" to "8", "context" to "protest",
    )
    screen.log(detention, submit = true)
    screen.log(detention + ("city" to "Astana") + ("people_count" to "3"), submit = true)
    screen.log(detention + ("held_hours" to "all night"), submit = true)
    println("The form says: ${screen.problem.value}")
    val draft = screen.log(
        mapOf(
            "phase" to "election_day", "category" to "observation_obstructed",
            "occurred_at" to "2021-01-10T08:10:00+06:00", "region" to "Almaty", "city" to "Almaty",
            "polling_station" to "PS-101", "people_count" to "2", "affected_role" to "observer",
        ),
        submit = false,
    ) ?: error(screen.problem.value ?: "the draft was refused")
    screen.refresh()
    // Submitted incidents went sealed to the coordinator: the phone no longer reads
    // their names. The draft stays on the phone, readable, until it is submitted.
    println("Observer's list: ${screen.incidents.value.size} incident(s)")
    screen.incidents.value.forEach {
        val names = if (it.sealed) "names sealed" else "names readable here"
        println("  ${it.id.take(8)}  ${it.status}  ${it.category}  ${it.city}  ${it.people}  $names")
    }

    val sync = screen.syncWith(address) ?: error(screen.problem.value ?: "sync failed")
    println("Synced with the coordinator: sent ${sync.changesSent} change(s) in ${sync.roundTrips} round trip(s), ${sync.bytesSent} bytes")
    phone.setStatus(draft, IncidentStatus.SUBMITTED)
    println("The draft is submitted: ${phone.getIncident(draft).personal} on the phone from now on")
    screen.syncWith(address) ?: error(screen.problem.value ?: "sync failed")
    withTimeout(5_000) { while (hqScreen.incidents.value.size < 3) delay(20) }
    println("Coordinator's list, refreshed by its listener: ${hqScreen.incidents.value.size} incident(s)")
    println()
    print(hq.reportMarkdown(emptyList(), "en"))

    hq.stopServing()
    screen.clear()
    hqScreen.clear()
    phone.close()
    hq.close()
    hqDir.deleteRecursively()
}
